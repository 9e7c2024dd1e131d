//! Email settings (SPEC §16): the SMTP server, the sender, and the portal the mails link to.

use super::{ConfigError, config_error, var};

#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `SMTP_URL`, e.g. `smtp://127.0.0.1:1025` (plain), `smtp://host:587?tls=required`
    /// (STARTTLS) or `smtps://user:pass@host` (TLS). Unset: mails are kept as `skipped`.
    pub smtp_url: Option<String>,
    /// `MAIL_FROM`: the sender, e.g. `Billing <billing@vendor.example>`; its domain ends every
    /// `Message-ID`.
    pub from: String,
    /// `PORTAL_URL`: where the links in mails point (the vendor's billing portal).
    pub portal_url: String,
}

impl MailSettings {
    pub fn from_env() -> Result<MailSettings, ConfigError> {
        let smtp_url = var("SMTP_URL");
        if let Some(url) = &smtp_url
            && !(url.starts_with("smtp://") || url.starts_with("smtps://"))
        {
            return Err(config_error(
                "SMTP_URL",
                "must be an smtp:// or smtps:// URL, e.g. smtp://127.0.0.1:1025",
            ));
        }
        let from = var("MAIL_FROM")
            .unwrap_or_else(|| "Billing Center <billing@billing-center.example>".to_owned());
        if !from.contains('@') {
            return Err(config_error(
                "MAIL_FROM",
                "must be an address, e.g. Billing <billing@vendor.example>",
            ));
        }
        let portal_url = var("PORTAL_URL")
            .unwrap_or_else(|| "https://billing.example".to_owned())
            .trim_end_matches('/')
            .to_owned();
        if !(portal_url.starts_with("https://") || portal_url.starts_with("http://")) {
            return Err(config_error("PORTAL_URL", "must be an http(s):// URL"));
        }
        Ok(MailSettings {
            smtp_url,
            from,
            portal_url,
        })
    }
}
