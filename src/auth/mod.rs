//! Who is who: password hashing now; sessions, tokens and the second factor join here.

pub mod password;
