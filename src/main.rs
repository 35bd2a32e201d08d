use std::process::ExitCode;

fn main() -> ExitCode {
    archsim::cli::main()
}
