//! The container files keep their promises (no container engine runs these tests; CI lints
//! the Dockerfile with hadolint, and docs/CONTAINER.md has the manual check).

fn read(name: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name))
        .unwrap_or_else(|e| panic!("read {name}: {e}"))
}

/// Lines that are not comments.
fn code(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
}

#[test]
fn compose_publishes_on_loopback_builds_once_and_requires_a_secret() {
    let compose = read("docker-compose.yml");
    let lines = code(&compose);
    let ports: Vec<&&str> = lines.iter().filter(|l| l.starts_with("ports:")).collect();
    assert_eq!(ports.len(), 1, "only the API is published: {ports:?}");
    assert!(ports[0].contains("\"127.0.0.1:"), "{}", ports[0]);
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("build:")).count(),
        1,
        "the image is built once"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| **l == "image: billing-center:local")
            .count(),
        2,
        "seed and api run the one image"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("JWT_HS256_SECRET: ${JWT_HS256_SECRET:?")),
        "compose refuses to start without a secret"
    );
    // The server refuses the development secret on 0.0.0.0 unless ALLOW_DEV_SECRET says
    // otherwise: compose must not say it.
    assert!(!lines.iter().any(|l| l.contains("ALLOW_DEV_SECRET")));
}

#[test]
fn the_image_checks_readiness_and_the_context_leaves_out_target_and_secrets() {
    let dockerfile = read("Dockerfile");
    // The instruction with its continuation lines.
    let healthcheck = code(&dockerfile.replace("\\\n", " "))
        .into_iter()
        .find(|line| line.starts_with("HEALTHCHECK "))
        .expect("a HEALTHCHECK")
        .to_owned();
    assert!(
        healthcheck.contains(r#"CMD ["/usr/local/bin/billing-center", "healthcheck"]"#),
        "{healthcheck}"
    );
    assert!(
        dockerfile.contains("cargo chef cook"),
        "dependencies in a layer of their own"
    );

    let ignore = read(".dockerignore");
    let rules = code(&ignore);
    assert_eq!(
        rules.first(),
        Some(&"*"),
        "everything is left out by default"
    );
    // The mail templates are compiled into the binary (`include_str!`): the build needs them.
    for needed in [
        "!Cargo.toml",
        "!Cargo.lock",
        "!src",
        "!migrations",
        "!templates",
    ] {
        assert!(rules.contains(&needed), "{needed}");
    }
    for copied in [
        "COPY src ./src",
        "COPY migrations ./migrations",
        "COPY templates ./templates",
    ] {
        assert!(code(&dockerfile).contains(&copied), "{copied}");
    }
    assert!(
        !rules
            .iter()
            .any(|r| r.contains("target") || r.contains(".env")),
        "{rules:?}"
    );
}
