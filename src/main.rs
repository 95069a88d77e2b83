//! The `aftercare` command: serve (default), migrate, create-user, openapi,
//! seed-demo, sweep, healthcheck, backup, restore.

use std::process::ExitCode;

use actix_web::HttpServer;
use aftercare::clock::Clock;
use aftercare::config::Config;
use aftercare::demo;
use aftercare::services::{auth, users};
use aftercare::{app, AppState};
use clap::{Args, Parser, Subcommand};
use utoipa::OpenApi;

/// After-handover customer care for construction companies: an HTTP API.
///
/// Configuration comes from the environment: DATABASE_URL, AFTERCARE_BIND,
/// AFTERCARE_JWT_SECRET, AFTERCARE_ADMIN_PASSWORD, AFTERCARE_TZ,
/// AFTERCARE_SWEEP_INTERVAL_SECS, RUST_LOG (see the README).
#[derive(Parser)]
#[command(name = "aftercare", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service with its deadline sweeper (the default)
    Serve,
    /// Apply pending database migrations and exit
    Migrate,
    /// Create a user (as the console administrator)
    CreateUser(NewUserArgs),
    /// Print the OpenAPI document (JSON)
    Openapi,
    /// Fill an empty database with a believable demo organisation
    ///
    /// Every demo user's password is AFTERCARE_DEMO_PASSWORD (at least 8
    /// characters), or `aftercare-demo`.
    SeedDemo,
    /// Mark passed deadlines overdue and escalate them, once (for cron)
    ///
    /// Also refreshes SQLite's planner statistics.
    Sweep,
    /// GET /healthz on AFTERCARE_BIND; exit 0 when healthy (for containers)
    Healthcheck,
    /// Copy the SQLite database and the file store's new files into DIR,
    /// while the service runs (on PostgreSQL: says to use pg_dump)
    Backup {
        /// A folder of its own; backing up into it again adds the new files
        dir: std::path::PathBuf,
    },
    /// Restore a backup folder into an empty data folder (SQLite), then
    /// check its integrity
    Restore {
        /// A folder `aftercare backup` wrote
        dir: std::path::PathBuf,
    },
}

#[derive(Args)]
struct NewUserArgs {
    /// Log-in name, 3 to 64 characters
    #[arg(long)]
    username: String,
    /// At least 8 characters
    #[arg(long)]
    password: String,
    /// admin, group_engineer, branch_engineer, branch_leader, project_manager, staff or customer
    #[arg(long)]
    role: String,
    /// The name people see
    #[arg(long)]
    display_name: String,
    /// The org unit the user belongs to (every role but admin and customer)
    #[arg(long)]
    org_unit_id: Option<i64>,
    /// Staff rank, for who may visit whom
    #[arg(long)]
    rank: Option<String>,
    /// The customer a customer user speaks for
    #[arg(long)]
    customer_id: Option<i64>,
    #[arg(long)]
    phone: Option<String>,
}

fn main() -> ExitCode {
    aftercare::logging::init();
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(),
        Command::Migrate => migrate(),
        Command::Openapi => say(&openapi_json()),
        Command::CreateUser(args) => create_user(args),
        Command::SeedDemo => seed_demo(),
        Command::Healthcheck => healthcheck(),
        Command::Sweep => sweep_once(),
        Command::Backup { dir } => backup(&dir),
        Command::Restore { dir } => restore(&dir),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Prints a line; a closed pipe (`| head -1`) is not worth a panic.
fn say(text: &str) -> Result<(), String> {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{text}");
    Ok(())
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
        say(&format!(
            "\n  First start: created the user `admin` with the password\n\n      {password}\n\n  It is shown only this once. Set AFTERCARE_ADMIN_PASSWORD to choose it yourself.\n"
        ))?;
    }
    Ok(startup.state)
}

fn serve() -> Result<(), String> {
    // take the address before anything else: a port in use must fail before
    // a first start creates the admin and prints its one-time password
    let bind = std::env::var("AFTERCARE_BIND").unwrap_or_else(|_| Config::DEFAULT_BIND.to_string());
    let listener = std::net::TcpListener::bind(&bind).map_err(|e| {
        format!("cannot listen on {bind}: {e} (choose another address with AFTERCARE_BIND, e.g. AFTERCARE_BIND=127.0.0.1:8081)")
    })?;
    let state = start(false)?;
    actix_web::rt::System::new().block_on(async move {
        if state.config.sweep_interval_secs > 0 {
            actix_web::rt::spawn(sweeper(state.clone()));
        }
        if state.config.webhooks.poll_ms > 0 {
            actix_web::rt::spawn(aftercare::webhooks::dispatcher(state.clone()));
        }
        // blocking work waits for one of the pool's connections anyway; more
        // threads per worker than that only grow memory (each thread gets
        // its own malloc arena); actix's default is 512 / cores
        let blocking_threads = (state.config.db_pool_size as usize).max(2);
        if let Some(bind) = state.config.metrics_bind.clone() {
            let metrics = metrics_server(state.clone(), &bind)?;
            actix_web::rt::spawn(metrics);
        }
        let server = HttpServer::new(move || app(state.clone()))
            .worker_max_blocking_threads(blocking_threads)
            .listen(listener)
            .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
        for addr in server.addrs() {
            log::info!("listening on http://{addr}");
            say(&format!("Aftercare is running. Swagger UI: http://{addr}/swagger-ui/  (spec: /api-docs/openapi.json)"))?;
        }
        server.run().await.map_err(|e| e.to_string())
    })
}

/// `GET /metrics` on its own address, apart from the API: one worker, no
/// credentials (whoever reaches the address may read it; bind it where only
/// the monitoring does).
fn metrics_server(state: AppState, bind: &str) -> Result<actix_web::dev::Server, String> {
    if aftercare::metrics::install().is_none() {
        return Err("the metrics recorder could not be installed".to_string());
    }
    if Some(bind) == Some(state.config.bind.as_str()) {
        return Err("AFTERCARE_METRICS_BIND must not be the API's own address".to_string());
    }
    let server = HttpServer::new(move || {
        actix_web::App::new()
            .app_data(actix_web::web::Data::new(state.clone()))
            .route(
                "/metrics",
                actix_web::web::get().to(aftercare::api::metrics::scrape),
            )
    })
    .workers(1)
    .bind(bind)
    .map_err(|e| format!("cannot listen on AFTERCARE_METRICS_BIND={bind}: {e}"))?;
    for addr in server.addrs() {
        log::info!("metrics on http://{addr}/metrics");
    }
    Ok(server.run())
}

/// The built-in sweeper: every `sweep_interval_secs`, the year's
/// visit-plan clocks start once it begins and passed deadlines become
/// overdue and are escalated. Safe beside other instances.
async fn sweeper(state: AppState) {
    let every = std::time::Duration::from_secs(state.config.sweep_interval_secs);
    let mut ticks = actix_web::rt::time::interval(every);
    loop {
        ticks.tick().await;
        let started = std::time::Instant::now();
        let swept = aftercare::sweep(&state).await;
        aftercare::metrics::swept(swept.is_ok(), started.elapsed());
        match swept {
            Ok(r) => {
                if r.compile_clocks > 0 {
                    log::info!(
                        "sweep: the year's visit-plan clock started for {} branch(es)",
                        r.compile_clocks
                    );
                }
                if r.deadlines.overdue > 0 {
                    log::info!(
                        "sweep: {} deadline(s) overdue and escalated",
                        r.deadlines.overdue
                    );
                }
                if r.uploads_removed > 0 {
                    log::info!(
                        "sweep: {} expired upload(s) removed, {} file(s) deleted from the store",
                        r.uploads_removed,
                        r.files_removed
                    );
                }
            }
            Err(e) => log::warn!("sweep failed, will retry: {e}"),
        }
    }
}

fn backup(dir: &std::path::Path) -> Result<(), String> {
    let config = Config::from_env()?;
    let r = aftercare::backup::backup(&config, dir)?;
    say(&format!(
        "backed up into {}: the database ({} bytes) and {} new file(s) of the {} it names",
        dir.display(),
        r.database_bytes,
        r.files_copied,
        r.files
    ))?;
    if !r.missing.is_empty() {
        return Err(format!(
            "{} file(s) the database names were not in the store (removed meanwhile?), e.g. {}",
            r.missing.len(),
            r.missing[0]
        ));
    }
    Ok(())
}

fn restore(dir: &std::path::Path) -> Result<(), String> {
    let config = Config::from_env()?;
    let r = aftercare::backup::restore(&config, dir)?;
    say(&format!(
        "restored from {} into {}: the database ({} bytes, integrity ok) and {} file(s)",
        dir.display(),
        config.database.describe(),
        r.database_bytes,
        r.files_copied
    ))
}

fn sweep_once() -> Result<(), String> {
    let state = start(true)?;
    let report = actix_web::rt::System::new()
        .block_on(aftercare::sweep(&state))
        .map_err(|e| e.to_string())?;
    say(&format!(
        "{} yearly visit-plan clock(s) started; {} deadline(s) became overdue and were escalated, {} marked due soon; {} expired upload(s) removed, {} file(s) deleted from the store",
        report.compile_clocks,
        report.deadlines.overdue,
        report.deadlines.due_soon,
        report.uploads_removed,
        report.files_removed
    ))
}

fn migrate() -> Result<(), String> {
    let config = Config::from_env()?;
    let pool = aftercare::db::connect(&config.database, 1)?;
    let mut conn = pool.get().map_err(|e| format!("cannot connect: {e}"))?;
    let applied = aftercare::db::run_migrations(&mut conn)?;
    if applied.is_empty() {
        say(&format!("{}: up to date", config.database.describe()))?;
    }
    for m in applied {
        say(&format!("applied {m}"))?;
    }
    Ok(())
}

fn create_user(args: NewUserArgs) -> Result<(), String> {
    let body = serde_json::json!({
        "username": args.username,
        "password": args.password,
        "role": args.role,
        "display_name": args.display_name,
        "phone": args.phone,
        "rank": args.rank,
        "org_unit_id": args.org_unit_id,
        "customer_id": args.customer_id,
    });
    // the same parsing and validation as the HTTP endpoint, the fields
    // named as the flags they came from
    let input: users::NewUserInput =
        aftercare::api::extract::parse_json(body.to_string().as_bytes())
            .and_then(|i: users::NewUserInput| {
                validator::Validate::validate(&i)
                    .map_err(aftercare::api::extract::validation_error)
                    .map(|_| i)
            })
            .map_err(|e| describe_as_flags(e, true))?;
    let state = start(true)?;
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let admin = auth::console_admin(&mut conn).map_err(describe)?;
    let hash = aftercare::auth::password::hash(&input.password).map_err(describe)?;
    let user = users::create(&mut conn, &admin, state.clock.now_naive(), &input, &hash)
        .map_err(|e| describe_as_flags(e, true))?;
    say(&format!(
        "created user {} ({}) with id {}",
        user.username, user.role, user.id
    ))
}

fn seed_demo() -> Result<(), String> {
    let state = start(true)?;
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let password = std::env::var("AFTERCARE_DEMO_PASSWORD")
        .ok()
        .filter(|p| p.len() >= 8)
        .unwrap_or_else(|| "aftercare-demo".to_string());
    let hash = aftercare::auth::password::hash(&password).map_err(describe)?;
    // the crews' photo goes to the store before the rows that name it
    let (bytes, photo) = demo::care::photo().map_err(describe)?;
    let key = aftercare::storage::Storage::original_key(&photo.sha256);
    actix_web::rt::System::new()
        .block_on(state.storage.put_bytes(&key, bytes.into()))
        .map_err(|e| format!("the demo photo could not be stored: {e}"))?;
    let report = demo::seed(
        &mut conn,
        &state.config,
        state.clock.now_naive(),
        &password,
        &hash,
        &photo,
    )
    .map_err(describe)?;
    say(&report.to_string())
}

fn describe(e: aftercare::error::AppError) -> String {
    describe_as_flags(e, false)
}

/// An error for the console; with `flags`, a field is named as the flag
/// that set it (`display_name` → `--display-name`).
fn describe_as_flags(e: aftercare::error::AppError, flags: bool) -> String {
    let problem = e.problem();
    let name = |field: &str| {
        if flags {
            format!("--{}", field.replace('_', "-"))
        } else {
            field.to_string()
        }
    };
    let fields: Vec<String> = problem
        .errors
        .iter()
        .map(|f| format!("{}: {}", name(&f.field), f.message))
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
