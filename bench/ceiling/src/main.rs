//! The ceiling: what this stack does at best for one authenticated point
//! read — actix-web, an HS256 token check, one prepared `SELECT` by primary key
//! through a diesel r2d2 pool inside `web::block`, a JSON answer. The bench
//! divides Aftercare's figures by this one's, measured on the same machine.
//!
//! `DATABASE_URL` (a SQLite path or `postgres://…`), `AFTERCARE_JWT_SECRET`,
//! `CEILING_BIND` (default 127.0.0.1:8090). `GET /point/{id}` reads project `id`.

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
    key: jsonwebtoken::DecodingKey,
    validation: jsonwebtoken::Validation,
}

async fn point(state: web::Data<State>, req: HttpRequest, id: web::Path<i64>) -> HttpResponse {
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = token else {
        return HttpResponse::Unauthorized().finish();
    };
    if jsonwebtoken::decode::<Claims>(token, &state.key, &state.validation).is_err() {
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
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let state = web::Data::new(State {
        db,
        key: jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()),
        validation,
    });
    println!("ceiling listening on {bind}");
    HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/point/{id}", web::get().to(point))
            .route("/healthz", web::get().to(HttpResponse::Ok))
    })
    .bind(bind)?
    .run()
    .await
}
