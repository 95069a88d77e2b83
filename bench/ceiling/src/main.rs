//! The ceiling: what this stack does at best for one authenticated point
//! read — actix-web, an HS256 token check, one prepared `SELECT` by primary key
//! through a diesel r2d2 pool inside `web::block`, a JSON answer. The bench
//! divides Aftercare's figures by this one's, measured on the same machine.
//!
//! `DATABASE_URL` (a SQLite path or `postgres://…`), `AFTERCARE_JWT_SECRET`,
//! `CEILING_BIND` (default 127.0.0.1:8090). `GET /point/{id}` reads project `id`.
//!
//! `GET /page` is the ceiling of a list: the same token check, then the first
//! 50 projects with every column of the table, in id order, as a JSON array.
//! It has no scope, no filter and no session check, so no list of the service
//! can be faster; the bench shows it beside the point read to tell how much of
//! a list's cost is the stack's own (reading, decoding and writing 50 rows).
//!
//! `POST /write` is the ceiling of a write: the same token check, a JSON
//! body parsed, then one transaction inserting one row and its event (two
//! tables of the ceiling's own, made at start), answering 201 with the new
//! id. On SQLite the writers queue on one mutex and the transaction takes
//! the write lock at its start, as the service's writes do.

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, Pool};

diesel::table! {
    projects (id) {
        id -> BigInt,
        code -> Text,
        name -> Text,
    }
}

/// Read with diesel's query builder, so that the statement stays prepared
/// (diesel caches it) as the service's own reads do: a ceiling that parsed
/// its SQL at every call would flatter the service.
#[derive(Queryable, serde::Serialize)]
struct Point {
    id: i64,
    code: String,
    name: String,
}

/// The whole `projects` table, as the service's list reads it.
mod full {
    diesel::table! {
        projects (id) {
            id -> BigInt,
            code -> Text,
            name -> Text,
            address -> Text,
            branch_id -> BigInt,
            project_department_id -> BigInt,
            customer_id -> BigInt,
            contract_number -> Nullable<Text>,
            building_area -> Nullable<Double>,
            structure_type -> Nullable<Text>,
            quality_grade -> Nullable<Text>,
            completion_accepted_on -> Date,
            handover_on -> Date,
            is_key_project -> Bool,
            hvac_in_scope -> Bool,
            design_service_life_years -> Integer,
            ledger_status -> Text,
            ledger_due_at -> Timestamp,
            ledger_submitted_at -> Nullable<Timestamp>,
            ledger_submitted_late -> Bool,
            ledger_late_reason -> Nullable<Text>,
            ledger_reviewed_at -> Nullable<Timestamp>,
            ledger_reviewed_by -> Nullable<BigInt>,
            ledger_review_comment -> Nullable<Text>,
            version -> Integer,
            created_at -> Timestamp,
            updated_at -> Timestamp,
            scope_path -> Text,
        }
    }
}

#[derive(Queryable, serde::Serialize)]
struct Row {
    id: i64,
    code: String,
    name: String,
    address: String,
    branch_id: i64,
    project_department_id: i64,
    customer_id: i64,
    contract_number: Option<String>,
    building_area: Option<f64>,
    structure_type: Option<String>,
    quality_grade: Option<String>,
    completion_accepted_on: chrono::NaiveDate,
    handover_on: chrono::NaiveDate,
    is_key_project: bool,
    hvac_in_scope: bool,
    design_service_life_years: i32,
    ledger_status: String,
    ledger_due_at: chrono::NaiveDateTime,
    ledger_submitted_at: Option<chrono::NaiveDateTime>,
    ledger_submitted_late: bool,
    ledger_late_reason: Option<String>,
    ledger_reviewed_at: Option<chrono::NaiveDateTime>,
    ledger_reviewed_by: Option<i64>,
    ledger_review_comment: Option<String>,
    version: i32,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
    scope_path: String,
}

/// The ceiling's own tables for `POST /write`: a record and its event.
mod written {
    diesel::table! {
        ceiling_rows (id) {
            id -> BigInt,
            name -> Text,
            created_at -> Timestamp,
        }
    }
    diesel::table! {
        ceiling_events (id) {
            id -> BigInt,
            row_id -> BigInt,
            payload -> Text,
            at -> Timestamp,
        }
    }
}

const SQLITE_TABLES: &str = "
    CREATE TABLE IF NOT EXISTS ceiling_rows (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, created_at TIMESTAMP NOT NULL);
    CREATE TABLE IF NOT EXISTS ceiling_events (id INTEGER PRIMARY KEY AUTOINCREMENT, row_id BIGINT NOT NULL, payload TEXT NOT NULL, at TIMESTAMP NOT NULL);";
const POSTGRES_TABLES: &str = "
    CREATE TABLE IF NOT EXISTS ceiling_rows (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, created_at TIMESTAMP NOT NULL);
    CREATE TABLE IF NOT EXISTS ceiling_events (id BIGSERIAL PRIMARY KEY, row_id BIGINT NOT NULL, payload TEXT NOT NULL, at TIMESTAMP NOT NULL);";

#[derive(serde::Deserialize)]
struct WriteBody {
    name: String,
}

#[derive(serde::Deserialize)]
struct Claims {
    #[allow(dead_code)]
    sub: String,
}

#[derive(Clone)]
enum Db {
    Sqlite(Pool<ConnectionManager<SqliteConnection>>),
    Pg(Pool<ConnectionManager<PgConnection>>),
}

#[derive(Debug)]
struct Pragmas;

impl diesel::r2d2::CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for Pragmas {
    fn on_acquire(&self, c: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        c.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;")
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

struct State {
    db: Db,
    /// SQLite's writers, in turn.
    writer: std::sync::Mutex<()>,
    key: jsonwebtoken::DecodingKey,
    validation: jsonwebtoken::Validation,
}

fn authorised(state: &State, req: &HttpRequest) -> bool {
    req.headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|token| {
            jsonwebtoken::decode::<Claims>(token, &state.key, &state.validation).is_ok()
        })
}

async fn page(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    if !authorised(&state, &req) {
        return HttpResponse::Unauthorized().finish();
    }
    let db = state.db.clone();
    let found = web::block(move || -> Result<Vec<Row>, String> {
        let query = full::projects::table.order(full::projects::id).limit(50);
        match db {
            Db::Sqlite(pool) => {
                let mut c = pool.get().map_err(|e| e.to_string())?;
                query.load::<Row>(&mut c).map_err(|e| e.to_string())
            }
            Db::Pg(pool) => {
                let mut c = pool.get().map_err(|e| e.to_string())?;
                query.load::<Row>(&mut c).map_err(|e| e.to_string())
            }
        }
    })
    .await;
    match found {
        Ok(Ok(rows)) => HttpResponse::Ok().json(rows),
        _ => HttpResponse::InternalServerError().finish(),
    }
}

async fn point(state: web::Data<State>, req: HttpRequest, id: web::Path<i64>) -> HttpResponse {
    if !authorised(&state, &req) {
        return HttpResponse::Unauthorized().finish();
    }
    let (db, id) = (state.db.clone(), id.into_inner());
    let found = web::block(move || -> Result<Vec<Point>, String> {
        match db {
            Db::Sqlite(pool) => {
                let mut c = pool.get().map_err(|e| e.to_string())?;
                projects::table
                    .find(id)
                    .load::<Point>(&mut c)
                    .map_err(|e| e.to_string())
            }
            Db::Pg(pool) => {
                let mut c = pool.get().map_err(|e| e.to_string())?;
                projects::table
                    .find(id)
                    .load::<Point>(&mut c)
                    .map_err(|e| e.to_string())
            }
        }
    })
    .await;
    match found {
        Ok(Ok(mut rows)) => match rows.pop() {
            Some(p) => HttpResponse::Ok().json(p),
            None => HttpResponse::NotFound().finish(),
        },
        _ => HttpResponse::InternalServerError().finish(),
    }
}

/// One row and its event, in one transaction.
async fn write(
    state: web::Data<State>,
    req: HttpRequest,
    body: web::Json<WriteBody>,
) -> HttpResponse {
    if !authorised(&state, &req) {
        return HttpResponse::Unauthorized().finish();
    }
    let state2 = state.clone();
    let name = body.into_inner().name;
    let done = web::block(move || -> Result<i64, String> {
        use written::{ceiling_events as e, ceiling_rows as r};
        let now = chrono::Utc::now().naive_utc();
        let payload = serde_json::json!({ "name": &name }).to_string();
        macro_rules! one_write {
            ($c:expr) => {{
                let id: i64 = diesel::insert_into(r::table)
                    .values((r::name.eq(&name), r::created_at.eq(now)))
                    .returning(r::id)
                    .get_result($c)?;
                diesel::insert_into(e::table)
                    .values((e::row_id.eq(id), e::payload.eq(&payload), e::at.eq(now)))
                    .execute($c)?;
                Ok(id)
            }};
        }
        match &state2.db {
            Db::Sqlite(pool) => {
                let mut c = pool.get().map_err(|e| e.to_string())?;
                let _turn = state2.writer.lock().map_err(|e| e.to_string())?;
                c.immediate_transaction(|c| -> diesel::QueryResult<i64> { one_write!(c) })
                    .map_err(|e| e.to_string())
            }
            Db::Pg(pool) => {
                let mut c = pool.get().map_err(|e| e.to_string())?;
                c.transaction(|c| -> diesel::QueryResult<i64> { one_write!(c) })
                    .map_err(|e| e.to_string())
            }
        }
    })
    .await;
    match done {
        Ok(Ok(id)) => HttpResponse::Created().json(serde_json::json!({ "id": id })),
        _ => HttpResponse::InternalServerError().finish(),
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "data/aftercare.db".to_string());
    let secret = std::env::var("AFTERCARE_JWT_SECRET").unwrap_or_default();
    let bind = std::env::var("CEILING_BIND").unwrap_or_else(|_| "127.0.0.1:8090".to_string());
    let size = 10;
    let db = if url.starts_with("postgres") {
        Db::Pg(
            Pool::builder()
                .max_size(size)
                .test_on_check_out(false)
                .build(ConnectionManager::new(url))
                .map_err(std::io::Error::other)?,
        )
    } else {
        Db::Sqlite(
            Pool::builder()
                .max_size(size)
                .test_on_check_out(false)
                .connection_customizer(Box::new(Pragmas))
                .build(ConnectionManager::new(url))
                .map_err(std::io::Error::other)?,
        )
    };
    match &db {
        Db::Sqlite(pool) => pool
            .get()
            .map_err(std::io::Error::other)?
            .batch_execute(SQLITE_TABLES),
        Db::Pg(pool) => pool
            .get()
            .map_err(std::io::Error::other)?
            .batch_execute(POSTGRES_TABLES),
    }
    .map_err(std::io::Error::other)?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let state = web::Data::new(State {
        db,
        writer: std::sync::Mutex::new(()),
        key: jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()),
        validation,
    });
    println!("ceiling listening on {bind}");
    HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/point/{id}", web::get().to(point))
            .route("/page", web::get().to(page))
            .route("/write", web::post().to(write))
            .route("/healthz", web::get().to(HttpResponse::Ok))
    })
    .bind(bind)?
    .run()
    .await
}
