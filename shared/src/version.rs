//! Version ordering and dependency records.
//!
//! Versions compare as `major.minor.patch`; the build number is ignored unless the caller asks
//! for it ([`BuildNumber::Compare`]), as MCUboot does without `MCUBOOT_VERSION_CMP_USE_BUILD_NUMBER`.

use crate::component::{ComponentId, ImageVersion};
use core::cmp::Ordering;

/// Whether the build number takes part in version comparisons.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BuildNumber {
    /// Compare `major.minor.patch` only (the default).
    #[default]
    Ignore,
    /// Compare `major.minor.patch.build`.
    Compare,
}

impl ImageVersion {
    /// Order two versions under the given build-number policy.
    pub fn compare(&self, other: &ImageVersion, build: BuildNumber) -> Ordering {
        let base =
            (self.major, self.minor, self.patch).cmp(&(other.major, other.minor, other.patch));
        match (base, build) {
            (Ordering::Equal, BuildNumber::Compare) => self.build.cmp(&other.build),
            _ => base,
        }
    }
}

/// A dependency declared by an image: component `component` must run at least `min_version`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dependency {
    /// The component depended upon.
    pub component: ComponentId,
    /// The lowest acceptable version of that component.
    pub min_version: ImageVersion,
}

impl Dependency {
    /// Whether `version` of the depended-upon component satisfies this dependency.
    pub fn satisfied_by(&self, version: &ImageVersion, build: BuildNumber) -> bool {
        version.compare(&self.min_version, build) != Ordering::Less
    }
}

/// Largest number of dependency TLVs one image may carry.
pub const MAX_DEPENDENCIES: usize = 4;

/// The dependencies of one image, in TLV order (fixed capacity, no heap).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dependencies {
    items: [Dependency; MAX_DEPENDENCIES],
    count: u8,
}

impl Dependencies {
    /// Append one; `false` when the list is full.
    pub fn push(&mut self, dep: Dependency) -> bool {
        match self.items.get_mut(usize::from(self.count)) {
            Some(slot) => {
                *slot = dep;
                self.count += 1;
                true
            }
            None => false,
        }
    }

    /// The dependencies as a slice.
    pub fn as_slice(&self) -> &[Dependency] {
        self.items.get(..usize::from(self.count)).unwrap_or(&[])
    }

    /// The first dependency whose component's version (from `version_of`) does not satisfy it.
    /// `version_of` returns `None` for a component that does not exist, which never satisfies.
    pub fn first_unmet(
        &self,
        mut version_of: impl FnMut(ComponentId) -> Option<ImageVersion>,
        build: BuildNumber,
    ) -> Option<Dependency> {
        self.as_slice()
            .iter()
            .copied()
            .find(|d| !version_of(d.component).is_some_and(|v| d.satisfied_by(&v, build)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: u8, b: u8, c: u16, d: u32) -> ImageVersion {
        ImageVersion::new(a, b, c, d)
    }

    #[test]
    fn ordering_is_lexicographic_and_ignores_build_by_default() {
        assert_eq!(
            v(1, 0, 0, 9).compare(&v(1, 0, 0, 1), BuildNumber::Ignore),
            Ordering::Equal
        );
        assert_eq!(
            v(1, 0, 0, 9).compare(&v(1, 0, 0, 1), BuildNumber::Compare),
            Ordering::Greater
        );
        assert_eq!(
            v(1, 2, 0, 0).compare(&v(1, 10, 0, 0), BuildNumber::Ignore),
            Ordering::Less
        );
        assert_eq!(
            v(2, 0, 0, 0).compare(&v(1, 255, 65535, 0), BuildNumber::Ignore),
            Ordering::Greater
        );
        assert_eq!(
            v(1, 1, 300, 0).compare(&v(1, 1, 2, 0), BuildNumber::Ignore),
            Ordering::Greater
        );
    }

    #[test]
    fn dependencies_report_the_first_unmet() {
        let mut deps = Dependencies::default();
        let a = Dependency {
            component: 1,
            min_version: v(1, 2, 0, 0),
        };
        let b = Dependency {
            component: 2,
            min_version: v(3, 0, 0, 0),
        };
        assert!(deps.push(a) && deps.push(b));
        let versions = |c| match c {
            1 => Some(v(1, 2, 0, 0)),
            2 => Some(v(2, 9, 9, 0)),
            _ => None,
        };
        assert_eq!(deps.first_unmet(versions, BuildNumber::Ignore), Some(b));
        let all_met = |c| match c {
            1 => Some(v(1, 3, 0, 0)),
            2 => Some(v(3, 0, 0, 0)),
            _ => None,
        };
        assert_eq!(deps.first_unmet(all_met, BuildNumber::Ignore), None);
        assert_eq!(deps.first_unmet(|_| None, BuildNumber::Ignore), Some(a));
        for _ in 2..MAX_DEPENDENCIES {
            assert!(deps.push(a));
        }
        assert!(!deps.push(a));
        assert_eq!(deps.as_slice().len(), MAX_DEPENDENCIES);
    }
}
