use super::*;
use crate::config::{Ports, Redirect};

const HOST: &str = "127.0.0.1:5000";

fn head(target: &str, host: &str) -> String {
    format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: t\r\n\r\n")
}

fn expect<'a>(state: &'a Secret, issuer: &'a str, iss_required: bool) -> Expect<'a> {
    Expect {
        host: HOST,
        path: "/callback",
        start_path: Some("/gw-start/R4nd0m"),
        state,
        issuer,
        iss_required,
    }
}

fn judge_t(target: &str, host: &str) -> Verdict {
    judge(
        &head(target, host),
        &expect(&Secret::new("S1"), "https://idp", false),
    )
}

#[test]
fn the_start_url_is_recognised_only_at_its_host_and_path_and_used_once() {
    assert!(matches!(judge_t("/gw-start/R4nd0m", HOST), Verdict::Start));
    assert!(matches!(
        judge_t("/gw-start/R4nd0m", "evil.example:5000"),
        Verdict::Ignore(400, _)
    ));
    assert!(matches!(
        judge_t("/gw-start/other", HOST),
        Verdict::Ignore(404, _)
    ));
    let state = Secret::new("S1");
    let no_start = Expect {
        start_path: None,
        ..expect(&state, "i", false)
    };
    assert!(matches!(
        judge(&head("/gw-start/R4nd0m", HOST), &no_start),
        Verdict::Ignore(404, _)
    ));
    assert_eq!(start_use(false, true), StartUse::Redirect);
    assert_eq!(start_use(true, true), StartUse::Abort);
    assert_eq!(start_use(true, false), StartUse::Abort);
    assert_eq!(start_use(false, false), StartUse::Expired);
}

#[test]
fn the_valid_callback_yields_the_code() {
    match judge_t("/callback?code=C1&state=S1", HOST) {
        Verdict::Done(Ok(code)) => assert_eq!(code.expose(), "C1"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn foreign_host_path_and_method_are_ignored_without_consuming_the_callback() {
    assert!(matches!(
        judge_t("/callback?code=C1&state=S1", "evil.example:5000"),
        Verdict::Ignore(400, _)
    ));
    assert!(matches!(
        judge_t("/callback?code=C1&state=S1", "localhost:5000"),
        Verdict::Ignore(400, _)
    ));
    assert!(matches!(
        judge_t("/favicon.ico", HOST),
        Verdict::Ignore(404, _)
    ));
    let post = format!("POST /callback?code=C1&state=S1 HTTP/1.1\r\nHost: {HOST}\r\n\r\n");
    assert!(matches!(
        judge(&post, &expect(&Secret::new("S1"), "i", false)),
        Verdict::Ignore(405, _)
    ));
}

#[test]
fn wrong_missing_or_repeated_state_is_refused_and_waiting_goes_on() {
    assert!(matches!(
        judge_t("/callback?code=C1&state=S2", HOST),
        Verdict::Ignore(400, _)
    ));
    assert!(matches!(
        judge_t("/callback?code=C1", HOST),
        Verdict::Ignore(400, _)
    ));
    assert!(matches!(
        judge_t("/callback?code=C1&state=S1&state=S1", HOST),
        Verdict::Ignore(400, _)
    ));
    assert!(
        matches!(
            judge_t("/callback?error=access_denied&state=X", HOST),
            Verdict::Ignore(400, _)
        ),
        "a forged error cannot abort the login"
    );
}

#[test]
fn rfc9207_issuer_is_checked() {
    assert!(matches!(
        judge_t("/callback?code=C1&state=S1&iss=https%3A%2F%2Fevil", HOST),
        Verdict::Done(Err(CallbackError::IssuerMismatch { .. }))
    ));
    assert!(matches!(
        judge_t("/callback?code=C1&state=S1&iss=https%3A%2F%2Fidp", HOST),
        Verdict::Done(Ok(_))
    ));
    let state = Secret::new("S1");
    let v = judge(
        &head("/callback?code=C1&state=S1", HOST),
        &expect(&state, "https://idp", true),
    );
    assert!(matches!(
        v,
        Verdict::Done(Err(CallbackError::IssuerMissing))
    ));
}

#[test]
fn idp_errors_with_the_right_state_end_the_login() {
    match judge_t(
        "/callback?error=access_denied&error_description=User+said+no&state=S1",
        HOST,
    ) {
        Verdict::Done(Err(CallbackError::Denied { error, description })) => {
            assert_eq!(error, "access_denied");
            assert_eq!(description.as_deref(), Some("User said no"));
        }
        other => panic!("{other:?}"),
    }
}

async fn send(port: u16, host: &str, target: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(head(target, host).as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn over_tcp_idle_preconnects_and_noise_do_not_block_or_consume_the_callback() {
    let redirect = Redirect {
        template: "http://127.0.0.1:{port}/callback".into(),
        ports: Ports::Ephemeral,
    };
    let listener = Listener::bind(&redirect).await.unwrap();
    let port = listener.port();
    assert!(
        listener.local_addrs().iter().all(|a| a.ip().is_loopback()),
        "loopback only"
    );
    assert_eq!(
        listener.redirect_uri(),
        format!("http://127.0.0.1:{port}/callback")
    );
    let host = format!("127.0.0.1:{port}");
    let wait = tokio::spawn(async move {
        listener
            .wait(
                &Secret::new("S1"),
                "https://idp",
                false,
                Duration::from_secs(10),
                None,
            )
            .await
    });
    // An idle pre-connect that never sends a byte.
    let _idle = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    assert!(
        send(port, &host, "/favicon.ico")
            .await
            .starts_with("HTTP/1.1 404")
    );
    assert!(
        send(port, "attacker.example", "/callback?code=X&state=S1")
            .await
            .starts_with("HTTP/1.1 400")
    );
    assert!(
        send(port, &host, "/callback?code=X&state=WRONG")
            .await
            .starts_with("HTTP/1.1 400")
    );
    let ok = send(port, &host, "/callback?code=GOOD&state=S1").await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert!(ok.contains("You may close this tab"));
    assert!(ok.to_ascii_lowercase().contains("cache-control: no-store"));
    let code = wait.await.unwrap().unwrap();
    assert_eq!(code.expose(), "GOOD");
    // Closed after the first valid callback.
    assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err());
}

#[tokio::test]
async fn it_times_out() {
    let redirect = Redirect {
        template: "http://127.0.0.1:{port}/callback".into(),
        ports: Ports::Ephemeral,
    };
    let listener = Listener::bind(&redirect).await.unwrap();
    let err = listener
        .wait(
            &Secret::new("S"),
            "i",
            false,
            Duration::from_millis(200),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CallbackError::Timeout(_)));
}

#[tokio::test]
async fn a_busy_fixed_port_moves_to_the_next_in_the_list() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port();
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let free_port = free.local_addr().unwrap().port();
    drop(free);
    let redirect = Redirect {
        template: "http://localhost:{port}".into(),
        ports: Ports::List(vec![busy_port, free_port]),
    };
    let listener = Listener::bind(&redirect).await.unwrap();
    assert_eq!(listener.port(), free_port);
    let addrs = listener.local_addrs();
    assert!(
        !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()),
        "localhost binds 127.0.0.1 (and ::1), nothing else: {addrs:?}"
    );
    assert_eq!(
        listener.redirect_uri(),
        format!("http://localhost:{free_port}")
    );
}

#[tokio::test]
async fn a_localhost_port_someone_holds_on_ipv6_is_never_used() {
    // Someone else listens on [::1] at a port that is free on 127.0.0.1.
    let squatter = std::net::TcpListener::bind("[::1]:0").unwrap();
    let taken = squatter.local_addr().unwrap().port();
    let free = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let redirect = Redirect {
        template: "http://localhost:{port}".into(),
        ports: Ports::List(vec![taken, free]),
    };
    let listener = Listener::bind(&redirect).await.unwrap();
    assert_eq!(listener.port(), free, "the port held on ::1 was skipped");
    let addrs = listener.local_addrs();
    assert!(addrs.iter().any(|a| a.is_ipv6()), "{addrs:?}");
    assert!(addrs.iter().any(|a| a.is_ipv4()), "{addrs:?}");
    let only = Redirect {
        template: "http://localhost:{port}".into(),
        ports: Ports::List(vec![taken]),
    };
    assert!(
        Listener::bind(&only).await.is_err(),
        "refused rather than listening on 127.0.0.1 alone"
    );
    assert!(v6_taken(std::io::ErrorKind::AddrInUse));
    assert!(!v6_taken(std::io::ErrorKind::AddrNotAvailable));
}
