//! Column widths from the room there is: every shown column gets its minimum, columns grow
//! toward their content, the last text column takes what is left, and when the screen is too
//! narrow the least important columns go first (a row's name and its verdict last).

use crate::views::Column;

/// Cells between two columns.
pub const SPACING: u16 = 1;
/// Widest a column other than the last grows to fit its content.
const MAX_GROW: u16 = 48;

/// The columns to draw, as (index, width), for `available` cells, given the widest content
/// (header included) of each column among the rows drawn.
pub fn fit(columns: &[Column], content: &[u16], available: u16) -> Vec<(usize, u16)> {
    let n = columns.len();
    if n == 0 {
        return Vec::new();
    }
    // A column's declared width is what it needs at most for its usual content; one whose
    // content is narrower needs only that (and its header).
    let min = |i: usize| {
        let header = columns[i].name.chars().count() as u16;
        let declared = columns[i].width;
        header.max(content.get(i).map_or(declared, |c| declared.min(*c)))
    };
    let want = |i: usize| {
        let c = content.get(i).copied().unwrap_or(0).max(min(i));
        if i + 1 == n {
            c
        } else {
            c.min(MAX_GROW.max(min(i)))
        }
    };
    let total = |shown: &[usize], w: &dyn Fn(usize) -> u16| -> u16 {
        shown.iter().map(|&i| w(i)).sum::<u16>() + SPACING * (shown.len().saturating_sub(1) as u16)
    };
    // Drop the least important columns until the minimums fit (never the first).
    let mut shown: Vec<usize> = (0..n).collect();
    while shown.len() > 1 && total(&shown, &min) > available {
        let drop = shown
            .iter()
            .enumerate()
            .skip(1)
            .min_by_key(|(pos, i)| (columns[**i].priority_at(**i, n), usize::MAX - *pos))
            .map(|(pos, _)| pos);
        match drop {
            Some(pos) => {
                shown.remove(pos);
            }
            None => break,
        }
    }
    // Then give the important columns (the name, verdicts, the last text) room to say what
    // they say, before keeping a minor column: "idle in transaction" whole beats an APP column.
    let important = |i: usize| columns[i].priority_at(i, n) >= 80;
    let target = |i: usize| want(i).min(24.max(min(i)));
    loop {
        let room = available.saturating_sub(total(&shown, &min));
        let need: u16 = shown
            .iter()
            .filter(|&&i| important(i))
            .map(|&i| target(i).saturating_sub(min(i)))
            .sum();
        if need <= room {
            break;
        }
        let drop = shown
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(_, i)| !important(**i))
            .min_by_key(|(pos, i)| (columns[**i].priority_at(**i, n), usize::MAX - *pos))
            .map(|(pos, _)| pos);
        match drop {
            Some(pos) => {
                shown.remove(pos);
            }
            None => break,
        }
    }
    let mut widths: Vec<u16> = shown.iter().map(|&i| min(i)).collect();
    let mut room = available.saturating_sub(total(&shown, &min));
    // Grow toward the content, most important columns first.
    let mut order: Vec<usize> = (0..shown.len()).collect();
    order.sort_by_key(|&k| std::cmp::Reverse(columns[shown[k]].priority_at(shown[k], n)));
    for k in order {
        if room == 0 {
            break;
        }
        let extra = want(shown[k]).saturating_sub(widths[k]).min(room);
        widths[k] += extra;
        room -= extra;
    }
    // A left-aligned last column takes the rest (long text: a query, a reason).
    if let (Some(last), true) = (shown.last(), room > 0)
        && *last + 1 == n
        && !columns[*last].right
        && let Some(w) = widths.last_mut()
    {
        *w += room;
    }
    shown.into_iter().zip(widths).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Vec<Column> {
        vec![
            Column::left("GROUP", 10),
            Column::right("MEMBERS", 7),
            Column::right("LAG", 8),
            Column::left("TREND", 12),
            Column::left("STATUS", 6),
            Column::left("REASON", 20),
        ]
    }

    #[test]
    fn wide_screens_grow_columns_to_their_content() {
        let w = fit(&cols(), &[24, 7, 8, 12, 6, 40], 200);
        assert_eq!(w.len(), 6);
        assert_eq!(w[0], (0, 24), "a long group name is shown whole");
        assert_eq!(
            w[5].1,
            200 - (24 + 7 + 8 + 12 + 6) - 5,
            "the reason takes the rest"
        );
    }

    #[test]
    fn narrow_screens_drop_the_least_important_columns_and_keep_the_status() {
        let w = fit(&cols(), &[24, 7, 8, 12, 6, 40], 60);
        let names: Vec<&str> = w.iter().map(|(i, _)| cols()[*i].name).collect();
        assert!(
            names.contains(&"GROUP") && names.contains(&"STATUS"),
            "{names:?}"
        );
        assert!(!names.contains(&"TREND"), "{names:?}");
        let used: u16 = w.iter().map(|(_, w)| w).sum::<u16>() + (w.len() as u16 - 1);
        assert!(used <= 60, "{used}");
    }

    #[test]
    fn a_minor_column_gives_way_to_a_whole_verdict() {
        let c = vec![
            Column::right("PID", 7),
            Column::left("DB", 10),
            Column::left("APP", 10),
            Column::left("STATE", 16),
            Column::left("SQL", 20),
        ];
        let w = fit(&c, &[7, 10, 10, 19, 40], 60);
        let state = w.iter().find(|(i, _)| *i == 3).expect("state shown");
        assert_eq!(state.1, 19, "{w:?}");
        assert!(w.iter().any(|(i, _)| *i == 4), "the SQL stays: {w:?}");
    }

    #[test]
    fn a_right_aligned_last_column_stays_by_its_header() {
        let c = vec![Column::left("NAME", 10), Column::right("SIZE", 8)];
        let w = fit(&c, &[10, 8], 120);
        assert_eq!(w, vec![(0, 10), (1, 8)]);
    }
}
