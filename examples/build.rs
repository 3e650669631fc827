//! Generates a Rust module from each schema the examples use; a binary includes one with
//! `zipc::include_schema!("STEM")`. This is all a crate needs to use a TOML schema.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    zipc_schema::Builder::new()
        .schemas([
            "../schemas/producer_consumer.toml",
            "../schemas/sensor_pipeline.toml",
            "../schemas/game_server.toml",
            "../schemas/task_scheduler.toml",
            "../schemas/telemetry.toml",
        ])
        .compile()?;
    Ok(())
}
