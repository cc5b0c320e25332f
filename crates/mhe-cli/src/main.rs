//! `mhe`: Minimum Hyperspherical Energy from the command line.

mod allocator;
mod bench_cmd;
mod cli_error;
mod cross_check_cmd;
mod device;
mod energy_cmd;
mod experiment_cmd;
mod npy;
mod pipe;
mod redraw_cmd;
mod results_page_cmd;
mod sphere_cmd;
mod step_bench;
mod train_cmd;

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
    /// Time energy + gradient against one N x d x N matmul on a device.
    Bench(bench_cmd::BenchArgs),
    /// Compare energy and gradient on a device with the CPU for every official variant.
    CrossCheck(cross_check_cmd::CrossCheckArgs),
    /// Train an image classifier with or without MHE (burn's Learner; checkpoints, resume).
    Train(Box<train_cmd::TrainArgs>),
    /// Reproduce the paper's experiments: sweeps of training runs, summary and figures.
    Experiment(Box<experiment_cmd::ExperimentArgs>),
    /// Redraw finished sweeps' figures and summaries from their committed runs (nothing trains).
    Redraw(redraw_cmd::RedrawArgs),
    /// Regenerate the summary sections of a results page from the experiments' summaries.
    ResultsPage(results_page_cmd::ResultsPageArgs),
}

fn main() -> ExitCode {
    allocator::keep_freed_memory();
    pipe::end_on_closed_pipe();
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Energy(args) => energy_cmd::run(args),
        Command::Sphere(args) => sphere_cmd::run(args),
        Command::Bench(args) => bench_cmd::run(args),
        Command::CrossCheck(args) => cross_check_cmd::run(args),
        Command::Train(args) => train_cmd::run(args),
        Command::Experiment(args) => experiment_cmd::run(args),
        Command::Redraw(args) => redraw_cmd::run(args),
        Command::ResultsPage(args) => results_page_cmd::run(args),
    };
    match result {
        Ok(output) => {
            if !output.is_empty() {
                println!("{output}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}
