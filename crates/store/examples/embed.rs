//! Embedding the store in a program: several threads share one `Arc<Store>`
//! and use its typed API directly, no server and no protocol involved.
//!
//! Run with `cargo run -p ferrodis-store --example embed`.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::sync::Arc;
use std::thread;

use ferrodis_store::{SetOptions, Store, Ttl, TtlUpdate};

fn main() {
    let store = Arc::new(Store::new());

    // Four workers count page views concurrently.
    let workers: Vec<_> = (0..4)
        .map(|worker| {
            let store = Arc::clone(&store);
            thread::spawn(move || {
                let db = store.db(0).unwrap();
                for page in 0..100 {
                    db.incr_by(format!("views:page:{page}").as_bytes(), 1)
                        .unwrap();
                }
                db.set(
                    format!("worker:{worker}:done").as_bytes(),
                    b"yes",
                    SetOptions::default(),
                )
                .unwrap();
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }

    let db = store.db(0).unwrap();
    let views = db.get(b"views:page:7").unwrap().unwrap();
    println!("views:page:7 = {}", String::from_utf8_lossy(&views));
    println!("keys in db 0 = {}", db.len());

    // A session that expires in 30 seconds.
    let opts = SetOptions {
        ttl: TtlUpdate::At(db.now_ms() + 30_000),
        ..Default::default()
    };
    db.set(b"session:abc", b"user=42", opts).unwrap();
    if let Ttl::ExpiresAt(at) = db.ttl(b"session:abc") {
        println!("session:abc expires in {} ms", at - db.now_ms());
    }
}
