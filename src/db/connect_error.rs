//! What to say when PostgreSQL cannot be reached: which server (host, port, database and
//! user from `DATABASE_URL`, never its password) and the next step to take, so that a first
//! run that fails tells the newcomer what to do instead of a bare "Connection refused".

use std::fmt;

/// The parts of a `postgres://user:password@host:port/database?options` URL that name the
/// server, without the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAddress {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
}

impl ServerAddress {
    /// Best effort: parts the URL does not give get PostgreSQL's defaults (port 5432, the
    /// user's name as the database).
    pub fn from_url(url: &str) -> ServerAddress {
        let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
        let (authority, path) = match rest.find(['/', '?']) {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        let (userinfo, hostport) = authority.rsplit_once('@').unwrap_or(("", authority));
        let user = userinfo.split(':').next().unwrap_or_default();
        let (host, port) = split_host_port(hostport);
        let database = path
            .strip_prefix('/')
            .unwrap_or_default()
            .split('?')
            .next()
            .unwrap_or_default();
        let user = if user.is_empty() { "postgres" } else { user };
        ServerAddress {
            host: if host.is_empty() { "localhost" } else { host }.to_owned(),
            port: port.unwrap_or(5432),
            database: if database.is_empty() { user } else { database }.to_owned(),
            user: user.to_owned(),
        }
    }
}

fn split_host_port(hostport: &str) -> (&str, Option<u16>) {
    if let Some(v6) = hostport.strip_prefix('[') {
        // `[::1]:5432`: the host keeps its brackets, as it is written in a URL.
        return match v6.split_once(']') {
            Some((_, after)) => {
                let host_len = hostport.len() - after.len();
                let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
                (hostport.get(..host_len).unwrap_or(hostport), port)
            }
            None => (hostport, None),
        };
    }
    match hostport.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().ok()),
        None => (hostport, None),
    }
}

impl fmt::Display for ServerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{} (database \"{}\", user \"{}\")",
            self.host, self.port, self.database, self.user
        )
    }
}

/// The next step for a connection that failed with `error` (the driver's message).
pub fn next_step(server: &ServerAddress, error: &str) -> String {
    let error = error.to_lowercase();
    let ServerAddress {
        host, port, user, ..
    } = server;
    if error.contains("password authentication failed")
        || error.contains("no pg_hba.conf entry")
        || error.contains("authentication")
        || (error.contains("role") && error.contains("does not exist"))
    {
        return format!(
            "check the user and password in DATABASE_URL, and that {host}:{port} lets that \
             user in (pg_hba.conf); scripts/ensure-postgres sets up the local server for \
             user postgres without a password"
        );
    }
    if error.contains("database") && error.contains("does not exist") {
        return format!(
            "create it (createdb -h {host} -p {port} -U {user} {}), or unset DATABASE_URL to \
             use the local default, which is created when missing",
            server.database
        );
    }
    format!(
        "is PostgreSQL running on {host}:{port}? On this machine, scripts/ensure-postgres \
         starts it (and installs it if it is missing); check with \
         pg_isready -h {host} -p {port}; or set DATABASE_URL to a server that runs"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_server_without_the_password() {
        let server = ServerAddress::from_url(
            "postgres://app:s3cret@db.internal:6543/billing?sslmode=require",
        );
        assert_eq!(
            server,
            ServerAddress {
                host: "db.internal".into(),
                port: 6543,
                database: "billing".into(),
                user: "app".into(),
            }
        );
        let shown = server.to_string();
        assert_eq!(
            shown,
            r#"db.internal:6543 (database "billing", user "app")"#
        );
        assert!(!shown.contains("s3cret"));
    }

    #[test]
    fn fills_in_postgresql_defaults() {
        let local = ServerAddress::from_url("postgres://postgres@127.0.0.1:5432/billing");
        assert_eq!(
            local.to_string(),
            r#"127.0.0.1:5432 (database "billing", user "postgres")"#
        );
        let bare = ServerAddress::from_url("postgresql://db");
        assert_eq!((bare.host.as_str(), bare.port), ("db", 5432));
        assert_eq!(bare.database, "postgres");
        let v6 = ServerAddress::from_url("postgres://u@[::1]:5433/x");
        assert_eq!((v6.host.as_str(), v6.port), ("[::1]", 5433));
        let v6_default_port = ServerAddress::from_url("postgres://u@[::1]/x");
        assert_eq!(
            (v6_default_port.host.as_str(), v6_default_port.port),
            ("[::1]", 5432)
        );
    }

    #[test]
    fn the_next_step_follows_the_failure() {
        let server = ServerAddress::from_url("postgres://postgres@127.0.0.1:5432/billing");
        let down = next_step(
            &server,
            "error connecting to server: Connection refused (os error 111)",
        );
        assert!(down.contains("scripts/ensure-postgres"), "{down}");
        assert!(down.contains("127.0.0.1:5432"), "{down}");
        let missing = next_step(&server, "database \"billing\" does not exist");
        assert!(
            missing.contains("createdb -h 127.0.0.1 -p 5432 -U postgres billing"),
            "{missing}"
        );
        let refused = next_step(
            &server,
            "password authentication failed for user \"postgres\"",
        );
        assert!(refused.contains("user and password"), "{refused}");
    }
}
