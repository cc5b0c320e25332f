//! `mhe`: Minimum Hyperspherical Energy from the command line.

mod cli_error;
mod device;
mod energy_cmd;
mod npy;
mod sphere_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Minimum Hyperspherical Energy (MHE) for burn: energies of saved weights, sphere point
/// optimization, and training with MHE regularization.
#[derive(Debug, Parser)]
#[command(name = "mhe", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The hyperspherical energy of a weight tensor saved as .npy.
    Energy(energy_cmd::EnergyArgs),
    /// Points on a sphere of minimum energy (Thomson, Riesz, log and Tammes problems).
    Sphere(sphere_cmd::SphereArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Energy(args) => energy_cmd::run(args),
        Command::Sphere(args) => sphere_cmd::run(args),
    };
    match result {
        Ok(output) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}
