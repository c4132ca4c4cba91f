//! OSC 52: the terminal sets its clipboard from an escape sequence the program writes, so a
//! copy works through SSH and, with `set-clipboard on`, through tmux.

/// Most terminals take at least this much encoded text in one sequence.
pub const MAX_ENCODED: usize = 74_994;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The sequence that puts `text` on the clipboard, cut (at a character) to what terminals
/// accept; and whether it was cut.
pub fn sequence(text: &str) -> (Vec<u8>, bool) {
    let limit = MAX_ENCODED / 4 * 3;
    let mut end = text.len().min(limit);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = b"\x1b]52;c;".to_vec();
    out.extend_from_slice(base64(&text.as_bytes()[..end]).as_bytes());
    out.push(0x07);
    (out, end < text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_base64() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64("SELECT 1; -- é".as_bytes()), "U0VMRUNUIDE7IC0tIMOp");
        let (seq, cut) = sequence("hi");
        assert_eq!(seq, b"\x1b]52;c;aGk=\x07");
        assert!(!cut);
        let (seq, cut) = sequence(&"é".repeat(60_000));
        assert!(cut);
        assert!(seq.len() <= MAX_ENCODED + 9);
    }
}
