//! SageMaker built-in algorithm images: the registry account of each algorithm per
//! region, from AWS's published table (`data/aws/sagemaker-algorithms.json`, which cites
//! it), and the image URI in the region's partition.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

const ALGORITHMS_JSON: &str = include_str!("../../data/aws/sagemaker-algorithms.json");

#[derive(Deserialize)]
struct File {
    algorithms: BTreeMap<String, Algorithm>,
}

#[derive(Deserialize)]
struct Algorithm {
    repository: String,
    tag: String,
    registries: BTreeMap<String, String>,
}

static ALGORITHMS: LazyLock<File> = LazyLock::new(|| {
    serde_json::from_str(ALGORITHMS_JSON)
        .expect("data/aws/sagemaker-algorithms.json is committed and parses")
});

/// The training image of a built-in algorithm (`random_cut_forest`, `xgboost`) in a
/// region: `<account>.dkr.ecr.<region>.<dnsSuffix>/<repository>:<tag>`. None when the
/// table has no registry for the region (or pipewright does not know its partition).
pub fn algorithm_image(algorithm: &str, region: &str) -> Option<String> {
    let a = ALGORITHMS.algorithms.get(algorithm)?;
    let account = a.registries.get(region)?;
    let p = super::partition_of(region)?;
    Some(format!(
        "{account}.dkr.ecr.{region}.{}/{}:{}",
        p.dns_suffix, a.repository, a.tag
    ))
}

/// The regions the table has a registry of the algorithm in.
pub fn algorithm_regions(algorithm: &str) -> Vec<&'static str> {
    ALGORITHMS
        .algorithms
        .get(algorithm)
        .map(|a| a.registries.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The URI's shape per partition (China's `.amazonaws.com.cn`), with accounts as
    /// AWS's table lists them, and refusal where the table has no registry.
    #[test]
    fn images_per_partition() {
        assert_eq!(
            algorithm_image("random_cut_forest", "eu-west-2").as_deref(),
            Some("644912444149.dkr.ecr.eu-west-2.amazonaws.com/randomcutforest:1")
        );
        assert_eq!(
            algorithm_image("random_cut_forest", "cn-north-1").as_deref(),
            Some("390948362332.dkr.ecr.cn-north-1.amazonaws.com.cn/randomcutforest:1")
        );
        assert_eq!(
            algorithm_image("xgboost", "us-gov-west-1").as_deref(),
            Some("414596584902.dkr.ecr.us-gov-west-1.amazonaws.com/sagemaker-xgboost:1.7-1")
        );
        assert_eq!(algorithm_image("random_cut_forest", "mx-central-1"), None);
        assert_eq!(algorithm_image("k_means", "eu-west-2"), None);
    }

    #[test]
    fn every_region_is_one_the_partitions_know() {
        for a in ["random_cut_forest", "xgboost"] {
            let regions = algorithm_regions(a);
            assert!(regions.len() > 25, "{a}: {}", regions.len());
            for r in regions {
                assert!(super::super::known_region(r), "{a}: {r}");
            }
        }
    }
}
