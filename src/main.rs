//! `tppo`: the command-line shell over the library. Each subcommand parses its
//! arguments, calls the library, and prints text (or JSON with `--json`).

mod cli;

fn main() -> std::process::ExitCode {
    match cli::run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
