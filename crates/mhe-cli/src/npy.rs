//! Reading and writing float arrays in NumPy's `.npy` format.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use npyz::{NpyFile, Order, WriterBuilder};
use thiserror::Error;

/// The element type of an array on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// `<f4`
    F32,
    /// `<f8`
    F64,
}

/// A float array read from a `.npy` file, in C (row-major) order, widened to f64.
#[derive(Debug, Clone, PartialEq)]
pub struct FloatArray {
    /// The array's shape.
    pub shape: Vec<usize>,
    /// The values in C order.
    pub values: Vec<f64>,
    /// The element type the file stored.
    pub precision: Precision,
}

/// Why a `.npy` file could not be read or written.
#[derive(Debug, Error)]
pub enum NpyError {
    /// The file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a `.npy` array of a supported kind.
    #[error("{path}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> NpyError + '_ {
    move |source| NpyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads a float32 or float64 array of any shape from `path`.
pub fn read_floats(path: &Path) -> Result<FloatArray, NpyError> {
    let format = |reason: String| NpyError::Format {
        path: path.to_path_buf(),
        reason,
    };
    let file = File::open(path).map_err(io_error(path))?;
    let npy = NpyFile::new(BufReader::new(file))
        .map_err(|e| format(format!("not a valid .npy file ({e})")))?;
    let shape: Vec<usize> = npy.shape().iter().map(|&n| n as usize).collect();
    let order = npy.order();
    let descr = npy.dtype().descr();
    let dtype = descr.trim_matches('\'');
    let (values, precision) = match dtype {
        "<f4" => (
            npy.into_vec::<f32>()
                .map(|v| v.into_iter().map(f64::from).collect()),
            Precision::F32,
        ),
        "<f8" => (npy.into_vec::<f64>(), Precision::F64),
        _ => {
            return Err(format(format!(
                "unsupported dtype {dtype}: only little-endian float32 (<f4) and float64 (<f8) are read"
            )));
        }
    };
    let values = values.map_err(|e| format(format!("truncated or corrupt data ({e})")))?;
    let values = match order {
        Order::C => values,
        Order::Fortran => fortran_to_c(&values, &shape),
    };
    Ok(FloatArray {
        shape,
        values,
        precision,
    })
}

/// Reorders column-major (Fortran) values to row-major (C) order.
fn fortran_to_c(values: &[f64], shape: &[usize]) -> Vec<f64> {
    let mut index = vec![0usize; shape.len()];
    (0..values.len())
        .map(|_| {
            let mut offset = 0;
            let mut stride = 1;
            for (i, &n) in index.iter().zip(shape) {
                offset += i * stride;
                stride *= n;
            }
            for axis in (0..shape.len()).rev() {
                index[axis] += 1;
                if index[axis] < shape[axis] {
                    break;
                }
                index[axis] = 0;
            }
            values[offset]
        })
        .collect()
}

/// Writes `values` (C order) with `shape` to `path` as float32 or float64.
pub fn write_floats(
    path: &Path,
    shape: &[usize],
    values: &[f64],
    precision: Precision,
) -> Result<(), NpyError> {
    let shape: Vec<u64> = shape.iter().map(|&n| n as u64).collect();
    let file = File::create(path).map_err(io_error(path))?;
    let writer = BufWriter::new(file);
    let result = match precision {
        Precision::F32 => write_elements(writer, &shape, values.iter().map(|&x| x as f32)),
        Precision::F64 => write_elements(writer, &shape, values.iter().copied()),
    };
    result.map_err(io_error(path))
}

fn write_elements<T: npyz::AutoSerialize>(
    writer: BufWriter<File>,
    shape: &[u64],
    values: impl IntoIterator<Item = T>,
) -> std::io::Result<()> {
    let mut out = npyz::WriteOptions::<T>::new()
        .default_dtype()
        .shape(shape)
        .writer(writer)
        .begin_nd()?;
    out.extend(values)?;
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        // One fixed folder (overwritten by the next run), not one per process left behind.
        let dir = std::env::temp_dir().join("mhe-npy-tests");
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    #[test]
    fn round_trips_both_precisions() {
        let values: Vec<f64> = (0..24).map(|i| f64::from(i) * 0.25 - 3.0).collect();
        for precision in [Precision::F32, Precision::F64] {
            let path = temp(&format!("round-{precision:?}.npy"));
            write_floats(&path, &[2, 3, 4], &values, precision).unwrap();
            let back = read_floats(&path).unwrap();
            assert_eq!(back.shape, vec![2, 3, 4]);
            assert_eq!(back.values, values);
            assert_eq!(back.precision, precision);
        }
    }

    #[test]
    fn reorders_fortran_arrays() {
        // shape [2, 3]: C order [[0, 1, 2], [3, 4, 5]] stored column by column.
        assert_eq!(
            fortran_to_c(&[0.0, 3.0, 1.0, 4.0, 2.0, 5.0], &[2, 3]),
            vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
        );
    }

    #[test]
    fn corrupt_files_are_named_errors() {
        let garbage = temp("garbage.npy");
        std::fs::write(&garbage, b"definitely not numpy").unwrap();
        let message = read_floats(&garbage).unwrap_err().to_string();
        assert!(message.contains("garbage.npy") && message.contains("not a valid .npy"));

        let truncated = temp("truncated.npy");
        write_floats(&truncated, &[4, 4], &[1.0; 16], Precision::F64).unwrap();
        let bytes = std::fs::read(&truncated).unwrap();
        std::fs::write(&truncated, &bytes[..bytes.len() - 20]).unwrap();
        let message = read_floats(&truncated).unwrap_err().to_string();
        assert!(message.contains("truncated"), "{message}");

        let missing = read_floats(&temp("missing.npy")).unwrap_err();
        assert!(matches!(missing, NpyError::Io { .. }));
    }
}
