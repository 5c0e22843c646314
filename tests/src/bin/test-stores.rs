//! Start the S3 servers the tests use (s3s-fs and a 3-node Garage
//! cluster) for scripts that need them, such as `scripts/bench-s3.sh`:
//! prints one `NAME ENDPOINT REGION` line per store, then the keys as
//! `keys ACCESS SECRET` (test credentials), and keeps the servers up until
//! standard input closes.
//!
//! Run: `cargo run -p cairn-tests --bin test-stores`.

use cairn_tests::s3::{self, Garage, S3sFs, Store};
use std::io::Read;

fn main() {
    let fs = S3sFs::start();
    let garage = Garage::start();
    println!("s3s-fs {} {}", fs.endpoint(), fs.region());
    println!("garage {} {}", garage.endpoint(), garage.region());
    println!("keys {} {}", s3::ACCESS_KEY, s3::SECRET_KEY);
    println!("bucket {}", s3::BUCKET);
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    drop(garage);
    drop(fs);
}
