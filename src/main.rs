//! The `pledge` command: everything lives in the library; this only hands over the arguments.

fn main() -> std::process::ExitCode {
    // Before any thread: large freed buffers go back to the system (src/memory.rs).
    pledge::memory::return_freed_memory();
    pledge::cli::main()
}
