//! Optimizer update steps (in place, allocation-free, one fused pass).
