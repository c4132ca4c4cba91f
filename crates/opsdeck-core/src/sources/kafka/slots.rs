//! Optional values without the `Option` tag, for state kept per group partition (80,000 of
//! them at 1,000 groups on 10,000 partitions): a time is never NaN, so NaN says "none".
//! `Option<f64>` takes 16 bytes, `MaybeF64` 8; `Option<(f64, i64)>` 24, `Maybe<i64>` 16.

/// An optional time or number of seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaybeF64(f64);

impl MaybeF64 {
    pub const NONE: MaybeF64 = MaybeF64(f64::NAN);

    /// `t`, which must not be NaN (a NaN reads back as none).
    pub fn some(t: f64) -> MaybeF64 {
        MaybeF64(t)
    }

    pub fn get(self) -> Option<f64> {
        (!self.0.is_nan()).then_some(self.0)
    }
}

impl Default for MaybeF64 {
    fn default() -> Self {
        MaybeF64::NONE
    }
}

/// An optional pair of a time and a value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Maybe<T> {
    t: MaybeF64,
    v: T,
}

impl<T: Copy + Default> Maybe<T> {
    pub fn none() -> Maybe<T> {
        Maybe {
            t: MaybeF64::NONE,
            v: T::default(),
        }
    }

    pub fn some(t: f64, v: T) -> Maybe<T> {
        Maybe {
            t: MaybeF64::some(t),
            v,
        }
    }

    pub fn get(self) -> Option<(f64, T)> {
        self.t.get().map(|t| (t, self.v))
    }
}

impl<T: Copy + Default> Default for Maybe<T> {
    fn default() -> Self {
        Maybe::none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_and_some_read_back_and_are_small() {
        assert_eq!(MaybeF64::default().get(), None);
        assert_eq!(MaybeF64::some(0.0).get(), Some(0.0));
        assert_eq!(Maybe::<i64>::default().get(), None);
        assert_eq!(Maybe::some(-1.5, 7i64).get(), Some((-1.5, 7)));
        assert_eq!(std::mem::size_of::<MaybeF64>(), 8);
        assert_eq!(std::mem::size_of::<Maybe<i64>>(), 16);
    }
}
