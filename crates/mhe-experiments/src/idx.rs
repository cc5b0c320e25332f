//! The IDX format of MNIST and Fashion-MNIST, read into a burn `Dataset`.
//!
//! Files may be raw or gzip-compressed (recognized by the gzip magic bytes, whatever the name),
//! as the MNIST and Fashion-MNIST distributions ship them.
//!
//! An IDX file is a big-endian header (`0x00 0x00 type rank`, then `rank` u32 dimensions)
//! followed by the values. Images are `u8` of rank 3 (`[count, rows, cols]`, magic `0x803`),
//! labels `u8` of rank 1 (magic `0x801`).

use std::io::Read;
use std::path::{Path, PathBuf};

use burn::data::dataset::{Dataset, DatasetError};
use thiserror::Error;

/// Why an IDX file or pair of files could not be loaded. Every variant names the file.
#[derive(Debug, Error)]
pub enum IdxError {
    /// The file could not be opened or read, or is corrupt gzip.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The header's magic number is not the one expected.
    #[error("{path}: wrong magic number {found:#010x}, expected {expected:#010x} ({what})")]
    WrongMagic {
        /// The file.
        path: PathBuf,
        /// The magic number found.
        found: u32,
        /// The magic number expected.
        expected: u32,
        /// What the file should hold.
        what: &'static str,
    },
    /// The file ends before its header or its data does.
    #[error("{path}: truncated: {needed} bytes expected, {found} present")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes the header announces (header included).
        needed: usize,
        /// Bytes in the file.
        found: usize,
    },
    /// Image and label files hold different numbers of items.
    #[error("{images} holds {image_count} images but {labels} holds {label_count} labels")]
    CountMismatch {
        /// The image file.
        images: PathBuf,
        /// Its number of images.
        image_count: usize,
        /// The label file.
        labels: PathBuf,
        /// Its number of labels.
        label_count: usize,
    },
    /// A label is not below the number of classes.
    #[error("{path}: label {label} at index {index} is out of range (classes 0..{classes})")]
    LabelOutOfRange {
        /// The label file.
        path: PathBuf,
        /// Where the bad label is.
        index: usize,
        /// The label.
        label: u8,
        /// The number of classes.
        classes: usize,
    },
}

const IMAGE_MAGIC: u32 = 0x0000_0803;
const LABEL_MAGIC: u32 = 0x0000_0801;

/// One image and its class.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageItem {
    /// Pixel intensities scaled to `[0, 1]`, row-major, `rows * cols` values.
    pub pixels: Vec<f32>,
    /// The class, below the dataset's number of classes.
    pub label: usize,
}

/// Images and labels from a pair of IDX files, as a burn `Dataset`.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxDataset {
    rows: usize,
    cols: usize,
    pixels: Vec<u8>,
    labels: Vec<u8>,
}

impl IdxDataset {
    /// Loads and checks an image file and a label file (each raw or gzip) of `classes` classes.
    pub fn load(images: &Path, labels: &Path, classes: usize) -> Result<Self, IdxError> {
        let image_bytes = read_maybe_gzip(images)?;
        let label_bytes = read_maybe_gzip(labels)?;
        Self::parse((images, &image_bytes), (labels, &label_bytes), classes)
    }

    /// Checks and reads the (uncompressed) contents of an image file and a label file; the
    /// paths name them in errors.
    pub(crate) fn parse(
        (images, image_bytes): (&Path, &[u8]),
        (labels, label_bytes): (&Path, &[u8]),
        classes: usize,
    ) -> Result<Self, IdxError> {
        let (image_dims, pixels) =
            read_idx(images, image_bytes, IMAGE_MAGIC, "images: u8, rank 3")?;
        let (label_dims, label_values) =
            read_idx(labels, label_bytes, LABEL_MAGIC, "labels: u8, rank 1")?;
        if image_dims[0] != label_dims[0] {
            return Err(IdxError::CountMismatch {
                images: images.to_path_buf(),
                image_count: image_dims[0],
                labels: labels.to_path_buf(),
                label_count: label_dims[0],
            });
        }
        if let Some((index, &label)) = label_values
            .iter()
            .enumerate()
            .find(|(_, l)| usize::from(**l) >= classes)
        {
            return Err(IdxError::LabelOutOfRange {
                path: labels.to_path_buf(),
                index,
                label,
                classes,
            });
        }
        Ok(Self {
            rows: image_dims[1],
            cols: image_dims[2],
            pixels,
            labels: label_values,
        })
    }

    /// Image height and width.
    pub fn image_shape(&self) -> [usize; 2] {
        [self.rows, self.cols]
    }

    /// The class of the item at `index` without decoding its image; panics past `len()`.
    pub fn label(&self, index: usize) -> usize {
        usize::from(self.labels[index])
    }
}

impl Dataset<ImageItem> for IdxDataset {
    /// The item at `index`; panics past `len()`, as burn's `Dataset` contract says.
    fn get(&self, index: usize) -> Result<ImageItem, DatasetError> {
        let size = self.rows * self.cols;
        let label = self.label(index);
        let pixels = self.pixels[index * size..(index + 1) * size]
            .iter()
            .map(|&p| f32::from(p) / 255.0)
            .collect();
        Ok(ImageItem { pixels, label })
    }

    fn len(&self) -> usize {
        self.labels.len()
    }
}

/// The dimensions and data of the contents `bytes` of the IDX file `path` with the given magic
/// number.
fn read_idx(
    path: &Path,
    bytes: &[u8],
    magic: u32,
    what: &'static str,
) -> Result<(Vec<usize>, Vec<u8>), IdxError> {
    let truncated = |needed| IdxError::Truncated {
        path: path.to_path_buf(),
        needed,
        found: bytes.len(),
    };
    let word = |i: usize| -> Option<u32> {
        let chunk = bytes.get(4 * i..4 * i + 4)?;
        Some(u32::from_be_bytes(chunk.try_into().ok()?))
    };
    let found = word(0).ok_or_else(|| truncated(4))?;
    if found != magic {
        return Err(IdxError::WrongMagic {
            path: path.to_path_buf(),
            found,
            expected: magic,
            what,
        });
    }
    let rank = (magic & 0xff) as usize;
    let header = 4 * (1 + rank);
    let dims = (1..=rank)
        .map(|i| word(i).map(|d| d as usize))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| truncated(header))?;
    let needed = header + dims.iter().product::<usize>();
    if bytes.len() < needed {
        return Err(truncated(needed));
    }
    Ok((dims, bytes[header..needed].to_vec()))
}

/// The bytes of a file, gunzipped when it starts with the gzip magic `1f 8b`.
fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>, IdxError> {
    let io = |source| IdxError::Io {
        path: path.to_path_buf(),
        source,
    };
    let raw = std::fs::read(path).map_err(io)?;
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok(raw);
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&raw[..])
        .read_to_end(&mut out)
        .map_err(io)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        // One fixed folder (overwritten by the next run), not one per process left behind.
        let dir = std::env::temp_dir().join("mhe-idx-tests");
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut bytes: Vec<u8> = magic.to_be_bytes().to_vec();
        dims.iter().for_each(|d| bytes.extend(d.to_be_bytes()));
        bytes.extend(data);
        bytes
    }

    fn write(name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Three 2x2 images with labels 0, 2, 1, in files named after `test` (tests run at once).
    fn good_pair(test: &str) -> (PathBuf, PathBuf) {
        let pixels: Vec<u8> = (0..12).map(|i| i * 20).collect();
        let images = write(
            &format!("{test}-img"),
            &idx(IMAGE_MAGIC, &[3, 2, 2], &pixels),
        );
        let labels = write(&format!("{test}-lbl"), &idx(LABEL_MAGIC, &[3], &[0, 2, 1]));
        (images, labels)
    }

    #[test]
    fn reads_gzip_files_like_raw_ones() {
        use std::io::Write;
        let (images, labels) = good_pair("gzip");
        let gzip_images = dir().join("gzip-img.gz");
        let mut encoder = flate2::write::GzEncoder::new(
            std::fs::File::create(&gzip_images).unwrap(),
            flate2::Compression::default(),
        );
        encoder.write_all(&std::fs::read(&images).unwrap()).unwrap();
        encoder.finish().unwrap();
        let raw = IdxDataset::load(&images, &labels, 3).unwrap();
        assert_eq!(IdxDataset::load(&gzip_images, &labels, 3).unwrap(), raw);
    }

    #[test]
    fn reads_images_and_labels() {
        let (images, labels) = good_pair("read");
        let data = IdxDataset::load(&images, &labels, 3).unwrap();
        assert_eq!((data.len(), data.image_shape()), (3, [2, 2]));
        let item = data.get(1).unwrap();
        assert_eq!(item.label, 2);
        let expected: Vec<f32> = [80.0, 100.0, 120.0, 140.0]
            .iter()
            .map(|p| p / 255.0)
            .collect();
        assert_eq!(item.pixels, expected);
    }

    #[test]
    fn every_malformed_case_is_a_named_error() {
        let (images, labels) = good_pair("malformed");
        let swapped = IdxDataset::load(&labels, &images, 3).unwrap_err();
        assert!(matches!(
            swapped,
            IdxError::WrongMagic {
                found: LABEL_MAGIC,
                ..
            }
        ));
        assert!(swapped.to_string().contains("lbl"));

        let short = write("short", &idx(IMAGE_MAGIC, &[3, 2, 2], &[0; 11]));
        let error = IdxDataset::load(&short, &labels, 3).unwrap_err();
        assert!(
            matches!(
                error,
                IdxError::Truncated {
                    needed: 28,
                    found: 27,
                    ..
                }
            ),
            "{error}"
        );
        let header_only = write("header", &IMAGE_MAGIC.to_be_bytes()[..3]);
        assert!(matches!(
            IdxDataset::load(&header_only, &labels, 3),
            Err(IdxError::Truncated { needed: 4, .. })
        ));

        let four_labels = write("four", &idx(LABEL_MAGIC, &[4], &[0, 1, 2, 0]));
        let error = IdxDataset::load(&images, &four_labels, 3).unwrap_err();
        assert!(matches!(
            error,
            IdxError::CountMismatch {
                image_count: 3,
                label_count: 4,
                ..
            }
        ));

        let error = IdxDataset::load(&images, &labels, 2).unwrap_err();
        assert!(
            matches!(
                error,
                IdxError::LabelOutOfRange {
                    index: 1,
                    label: 2,
                    ..
                }
            ),
            "{error}"
        );

        let broken_gzip = write("broken.gz", &[0x1f, 0x8b, 8, 0, 1, 2, 3]);
        assert!(matches!(
            IdxDataset::load(&broken_gzip, &labels, 3),
            Err(IdxError::Io { .. })
        ));
        let missing = dir().join("missing");
        assert!(matches!(
            IdxDataset::load(&missing, &labels, 3),
            Err(IdxError::Io { .. })
        ));
    }

    #[test]
    fn the_shipped_subset_is_balanced_real_digits() {
        let root = Path::new(crate::dataset::MNIST_SUBSET_DIR);
        for (split, per_class) in [("train", 250), ("t10k", 50)] {
            let images = root.join(format!("{split}-images-idx3-ubyte"));
            let labels = root.join(format!("{split}-labels-idx1-ubyte"));
            let data = IdxDataset::load(&images, &labels, 10).unwrap();
            assert_eq!((data.len(), data.image_shape()), (10 * per_class, [28, 28]));
            let mut counts = [0usize; 10];
            let mut ink = 0.0;
            for i in 0..data.len() {
                let item = data.get(i).unwrap();
                counts[item.label] += 1;
                ink += item.pixels.iter().sum::<f32>() / 784.0;
            }
            assert_eq!(counts, [per_class; 10]);
            // MNIST digits cover about 13% of the image on average.
            let mean_ink = ink / data.len() as f32;
            assert!((0.08..0.2).contains(&mean_ink), "{mean_ink}");
        }
    }
}
