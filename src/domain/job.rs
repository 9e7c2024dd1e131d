//! Background jobs: what they do and where they stand (SPEC §17).

crate::stored_enum! {
    /// What a job does.
    pub enum JobKind {
        /// Renew a subscription at its period end (SPEC §13).
        RenewSubscription => "renew_subscription",
        /// Write `subscription.trial_will_end` three days before a trial's last day.
        TrialWillEnd => "trial_will_end",
        /// Store `trial_expired` the day after a trial's last day.
        ExpireTrial => "expire_trial",
        /// Delete idempotency keys past their 24 hours.
        PurgeIdempotencyKeys => "purge_idempotency_keys",
        /// Settle orders a fault left pending, and refunds still owed.
        RecoverPendingOrders => "recover_pending_orders",
        /// Move a test clock forward through every job due on the way (SPEC §15).
        AdvanceTestClock => "advance_test_clock",
        /// Collect a past-due invoice again (a dunning retry, or a new card).
        RetryPayment => "retry_payment",
        /// End a subscription whose invoice dunning could not collect.
        EndDunning => "end_dunning",
        /// Make a corporate subscription past due the day after its invoice's due date.
        InvoiceOverdue => "invoice_overdue",
    }
}

crate::stored_enum! {
    pub enum JobStatus {
        Due => "due",
        Running => "running",
        Succeeded => "succeeded",
        Failed => "failed",
    }
}

crate::stored_enum! {
    /// Where a test clock stands (SPEC §15).
    pub enum TestClockStatus {
        /// At its `frozen_time`; its accounts take requests.
        Ready => "ready",
        /// Running the jobs due up to its target; its accounts answer 409.
        Advancing => "advancing",
    }
}
