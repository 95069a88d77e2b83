//! The `aftercare` command: serve (default), migrate, create-user, openapi,
//! seed-demo, healthcheck.

use std::process::ExitCode;

use actix_web::HttpServer;
use aftercare::clock::Clock;
use aftercare::config::Config;
use aftercare::demo;
use aftercare::services::{auth, deadlines, users};
use aftercare::{app, AppState};
use utoipa::OpenApi;

const USAGE: &str = "\
aftercare — after-handover customer care API

USAGE:
    aftercare [COMMAND]

COMMANDS:
    serve         run the HTTP service (the default)
    migrate       apply pending database migrations and exit
    create-user   create a user:  --username U --password P --role R --display-name N
                                  [--org-unit-id ID] [--rank R] [--customer-id ID] [--phone P]
    openapi       print the OpenAPI document (JSON)
    seed-demo     fill an empty database with a believable demo organisation
    sweep         mark passed deadlines overdue and escalate them, once (for cron);
                  also refreshes SQLite's planner statistics
    healthcheck   GET /healthz on AFTERCARE_BIND; exit 0 when healthy (for containers)

Configuration comes from the environment: DATABASE_URL, AFTERCARE_BIND,
AFTERCARE_JWT_SECRET, AFTERCARE_ADMIN_PASSWORD, AFTERCARE_TZ,
AFTERCARE_SWEEP_INTERVAL_SECS, RUST_LOG (see README).";

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        None | Some("serve") => serve(),
        Some("migrate") => migrate(),
        Some("openapi") => {
            use std::io::Write;
            // a closed pipe (`| head`) is not an error worth a panic
            let _ = writeln!(std::io::stdout(), "{}", openapi_json());
            Ok(())
        }
        Some("create-user") => create_user(&args[1..]),
        Some("seed-demo") => seed_demo(),
        Some("healthcheck") => healthcheck(),
        Some("sweep") => sweep_once(),
        Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command {other:?}\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn openapi_json() -> String {
    aftercare::openapi::ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Opens the database and applies migrations; `serve` keeps a pool, the
/// one-shot commands a single connection.
fn start(one_shot: bool) -> Result<AppState, String> {
    let mut config = Config::from_env()?;
    if one_shot {
        config.db_pool_size = 1;
    }
    log::info!("database: {}", config.database.describe());
    let startup = AppState::init(config, Clock::System)?;
    for m in &startup.migrations_applied {
        log::info!("applied migration {m}");
    }
    if let Some(password) = &startup.generated_admin_password {
        println!(
            "\n  First start: created the user `admin` with the password\n\n      {password}\n\n  It is shown only this once. Set AFTERCARE_ADMIN_PASSWORD to choose it yourself.\n"
        );
    }
    Ok(startup.state)
}

fn serve() -> Result<(), String> {
    let state = start(false)?;
    let bind = state.config.bind.clone();
    actix_web::rt::System::new().block_on(async move {
        if state.config.sweep_interval_secs > 0 {
            actix_web::rt::spawn(sweeper(state.clone()));
        }
        // blocking work waits for one of the pool's connections anyway; more
        // threads per worker than that only grow memory (each thread gets
        // its own malloc arena); actix's default is 512 / cores
        let blocking_threads = (state.config.db_pool_size as usize).max(2);
        let server = HttpServer::new(move || app(state.clone()))
            .worker_max_blocking_threads(blocking_threads)
            .bind(&bind)
            .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
        for addr in server.addrs() {
            log::info!("listening on http://{addr}");
            println!("Aftercare is running. Swagger UI: http://{addr}/swagger-ui/  (spec: /api-docs/openapi.json)");
        }
        server.run().await.map_err(|e| e.to_string())
    })
}

/// The built-in sweeper: every `sweep_interval_secs`, passed deadlines
/// become overdue and are escalated. Safe beside other instances.
async fn sweeper(state: AppState) {
    let every = std::time::Duration::from_secs(state.config.sweep_interval_secs);
    let mut ticks = actix_web::rt::time::interval(every);
    loop {
        ticks.tick().await;
        let now = state.clock.now_naive();
        let swept = state.db(move |conn| {
            let report = deadlines::sweep(conn, now)?;
            aftercare::db::optimize(conn)?;
            Ok(report)
        });
        match swept.await {
            Ok(r) if r.overdue > 0 => {
                log::info!("sweep: {} deadline(s) overdue and escalated", r.overdue)
            }
            Ok(_) => {}
            Err(e) => log::warn!("sweep failed, will retry: {e}"),
        }
    }
}

fn sweep_once() -> Result<(), String> {
    let state = start(true)?;
    let now = state.clock.now_naive();
    let mut conn = state
        .pool
        .get()
        .map_err(|e| format!("cannot connect: {e}"))?;
    let report = deadlines::sweep(&mut conn, now).map_err(|e| e.to_string())?;
    aftercare::db::optimize(&mut conn).map_err(|e| e.to_string())?;
    println!(
        "{} deadline(s) became overdue and were escalated, {} marked due soon",
        report.overdue, report.due_soon
    );
    Ok(())
}

fn migrate() -> Result<(), String> {
    let config = Config::from_env()?;
    let pool = aftercare::db::connect(&config.database, 1)?;
    let mut conn = pool.get().map_err(|e| format!("cannot connect: {e}"))?;
    let applied = aftercare::db::run_migrations(&mut conn)?;
    if applied.is_empty() {
        println!("{}: up to date", config.database.describe());
    }
    for m in applied {
        println!("applied {m}");
    }
    Ok(())
}

/// `--name value` pairs.
fn flags(args: &[String]) -> Result<std::collections::HashMap<String, String>, String> {
    let mut out = std::collections::HashMap::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let name = flag
            .strip_prefix("--")
            .ok_or_else(|| format!("expected a --flag, got {flag:?}"))?;
        let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
        out.insert(name.to_string(), value.clone());
    }
    Ok(out)
}

fn create_user(args: &[String]) -> Result<(), String> {
    let mut f = flags(args)?;
    let mut take = |name: &str| f.remove(name);
    let body = serde_json::json!({
        "username": take("username"),
        "password": take("password"),
        "role": take("role"),
        "display_name": take("display-name"),
        "phone": take("phone"),
        "rank": take("rank"),
        "org_unit_id": take("org-unit-id").map(|v| v.parse::<i64>()).transpose().map_err(|_| "--org-unit-id must be a number")?,
        "customer_id": take("customer-id").map(|v| v.parse::<i64>()).transpose().map_err(|_| "--customer-id must be a number")?,
    });
    if let Some(unknown) = f.keys().next() {
        return Err(format!("unknown flag --{unknown}\n\n{USAGE}"));
    }
    // the same parsing and validation as the HTTP endpoint
    let input: users::NewUserInput =
        aftercare::api::extract::parse_json(body.to_string().as_bytes())
            .and_then(|i: users::NewUserInput| {
                validator::Validate::validate(&i)
                    .map_err(aftercare::api::extract::validation_error)
                    .map(|_| i)
            })
            .map_err(describe)?;
    let state = start(true)?;
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let admin = auth::console_admin(&mut conn).map_err(describe)?;
    let hash = aftercare::auth::password::hash(&input.password).map_err(describe)?;
    let user = users::create(&mut conn, &admin, state.clock.now_naive(), &input, &hash)
        .map_err(describe)?;
    println!(
        "created user {} ({}) with id {}",
        user.username, user.role, user.id
    );
    Ok(())
}

fn seed_demo() -> Result<(), String> {
    let state = start(true)?;
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let password = std::env::var("AFTERCARE_DEMO_PASSWORD")
        .ok()
        .filter(|p| p.len() >= 8)
        .unwrap_or_else(|| "aftercare-demo".to_string());
    let hash = aftercare::auth::password::hash(&password).map_err(describe)?;
    let report = demo::seed(
        &mut conn,
        &state.config,
        state.clock.now_naive(),
        &password,
        &hash,
    )
    .map_err(describe)?;
    println!("{report}");
    Ok(())
}

fn describe(e: aftercare::error::AppError) -> String {
    let problem = e.problem();
    let fields: Vec<String> = problem
        .errors
        .iter()
        .map(|f| format!("{}: {}", f.field, f.message))
        .collect();
    if fields.is_empty() {
        format!("{} ({})", problem.detail, problem.code)
    } else {
        format!(
            "{} ({}): {}",
            problem.detail,
            problem.code,
            fields.join("; ")
        )
    }
}

/// A dependency-free probe for container health checks.
fn healthcheck() -> Result<(), String> {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;
    let bind = std::env::var("AFTERCARE_BIND").unwrap_or_else(|_| "127.0.0.1:8080".to_string());
    let addr = bind
        .replace("0.0.0.0", "127.0.0.1")
        .replace("[::]", "[::1]");
    let mut stream = TcpStream::connect(&addr).map_err(|e| format!("{addr}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(
            format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .map_err(|e| e.to_string())?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).map_err(|e| e.to_string())?;
    if head.starts_with(b"HTTP/1.1 200") {
        Ok(())
    } else {
        Err(format!("unhealthy: {}", String::from_utf8_lossy(&head)))
    }
}
