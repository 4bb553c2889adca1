//! Survival functions of the two reference distributions the drift tests
//! need: chi-squared (for Pearson's test) and Kolmogorov's limit
//! distribution (for the two-sample Kolmogorov–Smirnov test).
//!
//! Implemented here rather than pulled from a statistics crate because two
//! functions of a few dozen lines each do not justify a dependency; both are
//! checked against scipy to 1e-9 (see `tests/drift_scipy.rs`).

/// `ln Γ(x)` for `x > 0` (Lanczos approximation, g = 671/128, 14 terms, as
/// in Numerical Recipes 3rd ed. §6.1; relative error below 1e-15).
// The coefficients are kept exactly as published (they round to the same f64).
#[allow(clippy::excessive_precision)]
pub(crate) fn ln_gamma(x: f64) -> f64 {
    const COEFFICIENTS: [f64; 14] = [
        57.156_235_665_862_923_5,
        -59.597_960_355_475_491_2,
        14.136_097_974_741_747_1,
        -0.491_913_816_097_620_199,
        0.339_946_499_848_118_887e-4,
        0.465_236_289_270_485_756e-4,
        -0.983_744_753_048_795_646e-4,
        0.158_088_703_224_912_494e-3,
        -0.210_264_441_724_104_883e-3,
        0.217_439_618_115_212_643e-3,
        -0.164_318_106_536_763_890e-3,
        0.844_182_239_838_527_433e-4,
        -0.261_908_384_015_814_087e-4,
        0.368_991_826_595_316_234e-5,
    ];
    let mut y = x;
    let t = x + 5.242_187_5;
    let t = (x + 0.5) * libm::log(t) - t;
    let mut series = 0.999_999_999_999_997_092;
    for c in COEFFICIENTS {
        y += 1.0;
        series += c / y;
    }
    t + libm::log(2.506_628_274_631_000_5 * series / x)
}

/// Regularized upper incomplete gamma function `Q(a, x) = Γ(a, x) / Γ(a)`
/// for `a > 0`, `x ≥ 0`: the power series of `P = 1 − Q` below `x = a + 1`,
/// Lentz's continued fraction for `Q` above (where `Q` may be tiny, so it is
/// computed directly, with full relative precision).
pub(crate) fn regularized_upper_gamma(a: f64, x: f64) -> f64 {
    if x.is_nan() || a.is_nan() || a <= 0.0 {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    if x.is_infinite() {
        return 0.0;
    }
    let log_prefactor = a * libm::log(x) - x - ln_gamma(a);
    if x < a + 1.0 {
        // P(a, x) = e^(−x) x^a / Γ(a + 1) · Σ x^n / ((a+1)…(a+n))
        let mut term = 1.0 / a;
        let mut sum = term;
        let mut denominator = a;
        for _ in 0..10_000 {
            denominator += 1.0;
            term *= x / denominator;
            sum += term;
            if term.abs() < sum.abs() * 1e-17 {
                break;
            }
        }
        (1.0 - sum * libm::exp(log_prefactor)).clamp(0.0, 1.0)
    } else {
        // Q(a, x) = e^(−x) x^a / Γ(a) · 1/(x+1−a− 1·(1−a)/(x+3−a− 2·(2−a)/(x+5−a− …)))
        const TINY: f64 = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / TINY;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..10_000 {
            let i = f64::from(i);
            let an = -i * (i - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < TINY {
                d = TINY;
            }
            c = b + an / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        (libm::exp(log_prefactor) * h).clamp(0.0, 1.0)
    }
}

/// Survival function of the chi-squared distribution with `df` degrees of
/// freedom: `P(X ≥ statistic) = Q(df/2, statistic/2)`.
pub(crate) fn chi_squared_sf(statistic: f64, df: f64) -> f64 {
    regularized_upper_gamma(df / 2.0, statistic / 2.0)
}

/// Survival function of Kolmogorov's limit distribution,
/// `Q(λ) = 2 Σ_{k≥1} (−1)^(k−1) e^(−2k²λ²)` (scipy's `kstwobign.sf`).
/// For small `λ` the equivalent Jacobi-theta form
/// `1 − (√(2π)/λ) Σ_{k≥1} e^(−(2k−1)²π²/(8λ²))` converges faster.
pub(crate) fn kolmogorov_sf(lambda: f64) -> f64 {
    if lambda.is_nan() {
        return f64::NAN;
    }
    if lambda <= 0.0 {
        return 1.0;
    }
    if lambda < 1.18 {
        let w = std::f64::consts::PI * std::f64::consts::PI / (8.0 * lambda * lambda);
        let mut sum = 0.0;
        for k in 1..=20 {
            let odd = f64::from(2 * k - 1);
            let term = libm::exp(-odd * odd * w);
            sum += term;
            if term < 1e-18 * sum {
                break;
            }
        }
        let cdf = (2.0 * std::f64::consts::PI).sqrt() / lambda * sum;
        (1.0 - cdf).clamp(0.0, 1.0)
    } else {
        let mut sum = 0.0;
        let mut sign = 1.0;
        for k in 1..=100 {
            let k = f64::from(k);
            let term = libm::exp(-2.0 * k * k * lambda * lambda);
            sum += sign * term;
            if term < 1e-18 * sum.abs() {
                break;
            }
            sign = -sign;
        }
        (2.0 * sum).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn ln_gamma_matches_known_values() {
        assert!(ln_gamma(1.0).abs() < 1e-15);
        assert!(ln_gamma(2.0).abs() < 1e-15);
        assert!(close(
            ln_gamma(0.5),
            libm::log(std::f64::consts::PI.sqrt()),
            1e-14
        ));
        assert!(close(ln_gamma(10.0), libm::log(362_880.0), 1e-14));
        assert!(close(ln_gamma(100.5), 361.435_540_467_777_6, 1e-13));
    }

    #[test]
    fn chi_squared_survival_matches_closed_forms() {
        // df = 2: sf(x) = e^(−x/2).
        for x in [0.1, 1.0, 5.0, 40.0, 300.0] {
            assert!(
                close(chi_squared_sf(x, 2.0), libm::exp(-x / 2.0), 1e-12),
                "{x}"
            );
        }
        // df = 1: sf(x) = erfc(√(x/2)); at x = 3.841458820694124 it is 0.05.
        assert!(close(
            chi_squared_sf(3.841_458_820_694_124, 1.0),
            0.05,
            1e-10
        ));
        assert_eq!(chi_squared_sf(0.0, 3.0), 1.0);
        assert_eq!(chi_squared_sf(f64::INFINITY, 3.0), 0.0);
        assert!(chi_squared_sf(1.0, 0.0).is_nan());
    }

    #[test]
    fn kolmogorov_survival_is_continuous_and_matches_known_values() {
        // kstwobign.sf(1.3580986393225505) = 0.05 (the classic 5 % critical value).
        assert!(close(kolmogorov_sf(1.358_098_639_322_550_5), 0.05, 1e-9));
        let below = kolmogorov_sf(1.18 - 1e-12);
        let above = kolmogorov_sf(1.18);
        assert!((below - above).abs() < 1e-12);
        assert_eq!(kolmogorov_sf(0.0), 1.0);
        assert!(kolmogorov_sf(10.0) < 1e-80);
    }
}
