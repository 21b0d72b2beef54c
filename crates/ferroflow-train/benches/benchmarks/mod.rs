pub mod monitored_session;
