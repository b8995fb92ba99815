//! `vhost-device`: see `vhost-device --help` and [`vhost_device::server`].

use clap::Parser;
use vhost_device::server::{self, Args};

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    server::init_logging(args.verbose);
    match server::run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vhost-device: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
