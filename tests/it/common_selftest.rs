//! Checks of the shared test helpers themselves.
use crate::support as common;

#[test]
fn mask_replaces_labels_only() {
    assert_eq!(
        common::mask(b"@400000006b050c5709c2505c hi @40 @400000006B050C5709C2505C"),
        b"@x hi @40 @400000006B050C5709C2505C".to_vec()
    );
}
