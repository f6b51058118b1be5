//! berth-bench: a harness that runs CNI plugins (berth's and the reference ones) the way a
//! runtime does, inside a throwaway host namespace, and reports medians side by side.

pub mod cni_run;
pub mod settle;
pub mod stats;
pub mod world;
