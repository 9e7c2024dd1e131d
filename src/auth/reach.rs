//! Which accounts a principal reaches (SPEC §2). One pure function decides it; every
//! account-scoped use case calls it through `services::access`. Out of reach is 404, so ids
//! cannot be probed; a contact on its own account of the other kind gets a 403 that says
//! which portal to use.

use uuid::Uuid;

use super::{Principal, Role};
use crate::domain::account::AccountKind;
use crate::error::{ApiError, ErrorCode};

/// The facts about an account that decide reach.
pub struct AccountScope<'a> {
    pub id: Uuid,
    pub kind: AccountKind,
    pub representative_id: Option<&'a str>,
}

pub fn check_reach(principal: &Principal, account: &AccountScope<'_>) -> Result<(), ApiError> {
    match principal.role {
        Role::Admin => Ok(()),
        Role::Support if account.kind == AccountKind::SelfService => Ok(()),
        Role::Representative
            if account.kind == AccountKind::Corporate
                && account.representative_id == Some(principal.sub.as_str()) =>
        {
            Ok(())
        }
        Role::BillingContact | Role::CorporateContact
            if principal.account_id == Some(account.id) =>
        {
            match (principal.role, account.kind) {
                (Role::BillingContact, AccountKind::Corporate) => Err(ApiError::new(
                    ErrorCode::UseCorporatePortal,
                    "This is a corporate account: use the Corporate Billing Portal or ask your representative.",
                )),
                (Role::CorporateContact, AccountKind::SelfService) => Err(ApiError::new(
                    ErrorCode::UseBillingCenter,
                    "This is a self-service account: use the Billing Center.",
                )),
                _ => Ok(()),
            }
        }
        _ => Err(ApiError::not_found()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role, sub: &str, account_id: Option<Uuid>) -> Principal {
        Principal {
            sub: sub.into(),
            role,
            account_id,
        }
    }

    #[test]
    fn reach_matrix() {
        let id = Uuid::new_v4();
        let other = Uuid::new_v4();
        let self_service = AccountScope {
            id,
            kind: AccountKind::SelfService,
            representative_id: None,
        };
        let corporate = AccountScope {
            id,
            kind: AccountKind::Corporate,
            representative_id: Some("rep-1"),
        };
        let code = |r: Result<(), ApiError>| r.err().map(|e| e.code);

        let admin = principal(Role::Admin, "a", None);
        assert_eq!(code(check_reach(&admin, &self_service)), None);
        assert_eq!(code(check_reach(&admin, &corporate)), None);

        let support = principal(Role::Support, "s", None);
        assert_eq!(code(check_reach(&support, &self_service)), None);
        assert_eq!(
            code(check_reach(&support, &corporate)),
            Some(ErrorCode::NotFound)
        );

        let rep = principal(Role::Representative, "rep-1", None);
        let other_rep = principal(Role::Representative, "rep-2", None);
        assert_eq!(code(check_reach(&rep, &corporate)), None);
        assert_eq!(
            code(check_reach(&other_rep, &corporate)),
            Some(ErrorCode::NotFound)
        );
        assert_eq!(
            code(check_reach(&rep, &self_service)),
            Some(ErrorCode::NotFound)
        );

        let contact = principal(Role::BillingContact, "c", Some(id));
        assert_eq!(code(check_reach(&contact, &self_service)), None);
        assert_eq!(
            code(check_reach(&contact, &corporate)),
            Some(ErrorCode::UseCorporatePortal)
        );
        let stranger = principal(Role::BillingContact, "c", Some(other));
        assert_eq!(
            code(check_reach(&stranger, &self_service)),
            Some(ErrorCode::NotFound)
        );

        let corp = principal(Role::CorporateContact, "k", Some(id));
        assert_eq!(code(check_reach(&corp, &corporate)), None);
        assert_eq!(
            code(check_reach(&corp, &self_service)),
            Some(ErrorCode::UseBillingCenter)
        );
        let corp_stranger = principal(Role::CorporateContact, "k", Some(other));
        assert_eq!(
            code(check_reach(&corp_stranger, &corporate)),
            Some(ErrorCode::NotFound)
        );
    }
}
