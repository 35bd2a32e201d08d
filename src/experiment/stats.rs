//! Means and confidence intervals over independent replications.

/// Two-sided 97.5% quantiles of Student's t for 1 to 30 degrees of freedom.
const T_975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// The 0.975 quantile of Student's t with `df` degrees of freedom. Beyond the table, the
/// Cornish–Fisher expansion around the normal quantile is accurate to about 1e-4.
#[must_use]
pub fn t_975(df: usize) -> f64 {
    if df == 0 {
        return f64::INFINITY;
    }
    if df <= T_975.len() {
        return T_975[df - 1];
    }
    t_quantile_expansion(1.959_963_984_540_054, df as f64)
}

/// Cornish–Fisher expansion of a t quantile from the normal quantile `z`.
#[must_use]
pub fn t_quantile_expansion(z: f64, df: f64) -> f64 {
    let z3 = z * z * z;
    let z5 = z3 * z * z;
    z + (z3 + z) / (4.0 * df) + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * df * df)
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (n − 1 in the denominator).
    pub sd: f64,
    /// Half-width of the 95% confidence interval of the mean.
    pub half_width_95: f64,
}

impl Summary {
    #[must_use]
    pub fn of(values: &[f64]) -> Self {
        let n = values.len();
        if n == 0 {
            return Summary {
                n,
                mean: f64::NAN,
                sd: f64::NAN,
                half_width_95: f64::NAN,
            };
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        if n == 1 {
            return Summary {
                n,
                mean,
                sd: 0.0,
                half_width_95: 0.0,
            };
        }
        let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64;
        let sd = var.sqrt();
        Summary {
            n,
            mean,
            sd,
            half_width_95: t_975(n - 1) * sd / (n as f64).sqrt(),
        }
    }

    /// Half-width at another two-sided confidence, given that level's t quantile.
    #[must_use]
    pub fn half_width(&self, t_quantile: f64) -> f64 {
        t_quantile * self.sd / (self.n as f64).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_agrees_with_table_where_they_overlap() {
        // At 30 degrees of freedom the tabulated value is 2.042.
        assert!((t_quantile_expansion(1.959_963_984_540_054, 30.0) - 2.042).abs() < 1e-3);
        assert!((t_975(120) - 1.980).abs() < 1e-3);
    }

    #[test]
    fn summary_of_known_values() {
        let s = Summary::of(&[1.0, 2.0, 3.0, 4.0]);
        assert!((s.mean - 2.5).abs() < 1e-12);
        assert!((s.sd - 1.290_994_448_735_805_6).abs() < 1e-12);
        assert!((s.half_width_95 - 3.182 * s.sd / 2.0).abs() < 1e-12);
    }
}
