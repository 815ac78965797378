//! One thin file per subcommand: read, decide, render.

<<<<<<< HEAD
pub mod apply;
=======
pub mod env;
>>>>>>> main
pub mod list_types;
pub mod plan;
pub mod teardown;
