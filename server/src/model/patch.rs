//! What an edit says about one field: leave it, or set it (to a value, or to nothing where the
//! field may be empty). Written once, so every PATCH means the same.

/// One field of an edit.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Patch<T> {
    /// Not mentioned: keep what is stored.
    #[default]
    Keep,
    /// Set to this.
    Set(T),
}

impl<T> Patch<T> {
    /// The new value, or `current` when the edit leaves the field.
    pub fn or(self, current: T) -> T {
        match self {
            Patch::Keep => current,
            Patch::Set(v) => v,
        }
    }

    /// The new value, or the one `current` gives when the edit leaves the field.
    pub fn or_else(self, current: impl FnOnce() -> T) -> T {
        match self {
            Patch::Keep => current(),
            Patch::Set(v) => v,
        }
    }

    /// The new value, or `current` (which may be nothing) when the edit leaves the field.
    pub fn or_current(self, current: Option<T>) -> Option<T> {
        match self {
            Patch::Keep => current,
            Patch::Set(v) => Some(v),
        }
    }

    /// The new value, or `parse` of the stored text (of empty text for something new) when
    /// the edit leaves the field: a kept value is checked again like a new one.
    pub fn or_parse<E>(
        self,
        stored: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, E> {
        match self {
            Patch::Keep => parse(stored.unwrap_or("")),
            Patch::Set(v) => Ok(v),
        }
    }

    pub fn is_set(&self) -> bool {
        matches!(self, Patch::Set(_))
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Patch<U> {
        match self {
            Patch::Keep => Patch::Keep,
            Patch::Set(v) => Patch::Set(f(v)),
        }
    }

    /// The value when set, for checks that need it.
    pub fn as_set(&self) -> Option<&T> {
        match self {
            Patch::Keep => None,
            Patch::Set(v) => Some(v),
        }
    }
}

impl<T, E> Patch<Result<T, E>> {
    pub fn transpose(self) -> Result<Patch<T>, E> {
        match self {
            Patch::Keep => Ok(Patch::Keep),
            Patch::Set(r) => r.map(Patch::Set),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_keeps_and_set_replaces() {
        assert_eq!(Patch::<i32>::Keep.or(1), 1);
        assert_eq!(Patch::Set(2).or(1), 2);
        assert_eq!(Patch::Set(None).or(Some(1)), None, "set to nothing");
        assert_eq!(Patch::<i32>::Keep.or_else(|| 3), 3);
        assert_eq!(Patch::<i32>::Keep.or_current(None), None);
        assert_eq!(Patch::Set(4).or_current(Some(1)), Some(4));
        assert_eq!(Patch::Set("2").map(str::len), Patch::Set(1));
        assert_eq!(
            Patch::Set("x".parse::<i32>()).transpose().map_err(|_| ()),
            Err(())
        );
        assert_eq!(Patch::<Result<i32, ()>>::Keep.transpose(), Ok(Patch::Keep));
        let parse = |s: &str| s.parse::<i32>();
        assert_eq!(Patch::Set(5).or_parse(Some("x"), parse), Ok(5));
        assert_eq!(Patch::Keep.or_parse(Some("6"), parse), Ok(6));
        assert!(
            Patch::Keep.or_parse(None, parse).is_err(),
            "nothing stored: parse \"\""
        );
    }
}
