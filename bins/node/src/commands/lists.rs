//! Lists commands (being written).

use super::Spec;

pub(super) fn specs() -> Vec<Spec> {
    Vec::new()
}
