//! The carrier portal (`/carrier`, issue 13).

pub(super) const STRINGS: super::Strings = &[];
