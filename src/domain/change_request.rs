//! Corporate change requests (SPEC §18): where a request stands.

crate::stored_enum! {
    /// `submitted` until the representative answers (or the contact withdraws it); answered
    /// once: `quoted` (then `completed` when the quote is accepted) or `declined`.
    pub enum ChangeRequestStatus {
        Submitted => "submitted",
        Quoted => "quoted",
        Completed => "completed",
        Declined => "declined",
        Withdrawn => "withdrawn",
    }
}

impl ChangeRequestStatus {
    /// Still waiting for an answer.
    pub fn is_open(self) -> bool {
        self == ChangeRequestStatus::Submitted
    }
}
