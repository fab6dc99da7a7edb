//! ISMRMRD header geometry: encoded and reconstruction matrix sizes, and the zero-padded
//! phase-encode columns.
//!
//! From the XML of a file's `ismrmrd_header` (namespace [`ISMRMRD_NAMESPACE`]), the first
//! `encoding` element gives:
//!
//! - `encodedSpace/matrixSize/{x, y, z}`: the k-space matrix, `x = H` (readout) and `y = W`
//!   (phase encode);
//! - `reconSpace/matrixSize/{x, y, z}`: the size of the reconstructed image (the target's crop);
//! - `encodingLimits/kspace_encoding_step_1/{center, maximum}`: the acquired phase-encode lines,
//!   from which `padding_left = W_enc / 2 - center` and `padding_right = padding_left + maximum
//!   + 1`. Columns outside `padding_left..padding_right` are zero padding, never sampled.
//!
//! Files without a header get [`Geometry::from_shapes`].

use std::fmt::Write as _;

use serde::Serialize;

/// Namespace of ISMRMRD header elements.
pub const ISMRMRD_NAMESPACE: &str = "http://www.ismrm.org/ISMRMRD";

/// Width of the reconstruction crop when a file states none: fastMRI's 320.
pub const DEFAULT_RECON_WIDTH: usize = 320;

/// Origin of a [`Geometry`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GeometrySource {
    /// The file's `ismrmrd_header`.
    Header,
    /// The k-space and target shapes, for files without a header.
    Shapes,
}

/// Matrix sizes and phase-encode padding of one volume.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Geometry {
    /// Encoded k-space matrix `[x = H, y = W, z]`.
    pub encoded_size: [usize; 3],
    /// Reconstruction matrix `[x = h, y = w, z]`: the image crop that targets have.
    pub recon_size: [usize; 3],
    /// First phase-encode column that is not zero padding.
    pub padding_left: usize,
    /// One past the last phase-encode column that is not zero padding.
    pub padding_right: usize,
    /// Origin of the values.
    pub source: GeometrySource,
}

/// Failure to take a [`Geometry`] from ISMRMRD XML.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// The text is not well-formed XML.
    #[error("the XML is not well-formed: {message}")]
    Xml { message: String },
    /// A required element is absent.
    #[error(
        "element `{element}` is missing; fastMRI headers have encoding/encodedSpace/matrixSize, \
         encoding/reconSpace/matrixSize and encoding/encodingLimits/kspace_encoding_step_1"
    )]
    MissingElement { element: String },
    /// An element does not contain a non-negative integer.
    #[error("element `{element}` contains `{value}`, expected a non-negative integer")]
    InvalidNumber { element: String, value: String },
}

impl Geometry {
    /// Parses the geometry from ISMRMRD header XML.
    ///
    /// Elements are matched by local name in the ISMRMRD namespace or in no namespace. When the
    /// limits place `center` past `W_enc / 2` or the acquired lines past `W_enc`, the padding is
    /// clamped to `0..=W_enc` and a warning is logged.
    ///
    /// # Errors
    ///
    /// [`HeaderError`] when the XML is malformed or a used element is missing or not a
    /// non-negative integer.
    pub fn from_ismrmrd_xml(xml: &str) -> Result<Self, HeaderError> {
        let document = roxmltree::Document::parse(xml).map_err(|err| HeaderError::Xml {
            message: err.to_string(),
        })?;
        let root = document.root_element();
        let encoding = child(root, "encoding").ok_or_else(|| missing("encoding"))?;

        let encoded_size = matrix_size(encoding, "encodedSpace")?;
        let recon_size = matrix_size(encoding, "reconSpace")?;
        let center = number(
            encoding,
            &["encodingLimits", "kspace_encoding_step_1", "center"],
        )?;
        let maximum = number(
            encoding,
            &["encodingLimits", "kspace_encoding_step_1", "maximum"],
        )?;

        let width = encoded_size[1];
        let half = width / 2;
        if center > half {
            tracing::warn!(
                center,
                width,
                "kspace_encoding_step_1 center is past W_enc / 2; padding_left clamped to 0"
            );
        }
        let padding_left = half.saturating_sub(center);
        let mut padding_right = padding_left + maximum + 1;
        if padding_right > width {
            tracing::warn!(
                padding_right,
                width,
                "acquired phase-encode lines reach past W_enc; padding_right clamped to W_enc"
            );
            padding_right = width;
        }
        Ok(Self {
            encoded_size,
            recon_size,
            padding_left,
            padding_right,
            source: GeometrySource::Header,
        })
    }

    /// Builds the geometry of a file without a header from its k-space size `(H, W)`.
    ///
    /// The encoded size is `[H, W, 1]` and no column is padding. The reconstruction size is the
    /// target's `(h, w)` when the file has a target. Otherwise it is `w = min(W, 320)` and
    /// `h = min(H, w)`: fastMRI's 320x320 for knee k-space (640x368), and a square `W x W` crop
    /// for images narrower than 320.
    pub fn from_shapes(height: usize, width: usize, target: Option<[usize; 2]>) -> Self {
        let [recon_h, recon_w] = target.unwrap_or_else(|| {
            let recon_w = width.min(DEFAULT_RECON_WIDTH);
            [height.min(recon_w), recon_w]
        });
        Self {
            encoded_size: [height, width, 1],
            recon_size: [recon_h, recon_w, 1],
            padding_left: 0,
            padding_right: width,
            source: GeometrySource::Shapes,
        }
    }

    /// Returns the reconstruction size `[h, w]`.
    pub fn recon_hw(&self) -> [usize; 2] {
        [self.recon_size[0], self.recon_size[1]]
    }

    /// Returns whether phase-encode column `column` is zero padding.
    pub fn is_padding_column(&self, column: usize) -> bool {
        column < self.padding_left || column >= self.padding_right
    }

    /// Writes the geometry as minimal ISMRMRD header XML, the inverse of
    /// [`Geometry::from_ismrmrd_xml`]: `center = W_enc / 2 - padding_left` and `maximum =
    /// padding_right - padding_left - 1`.
    ///
    /// NOTE: the ISMRMRD schema also requires `fieldOfView_mm` and acquisition system elements,
    /// which this geometry does not know; fastMRI, and this module's reader, never use them.
    pub fn to_ismrmrd_xml(&self) -> String {
        let [enc_x, enc_y, enc_z] = self.encoded_size;
        let [rec_x, rec_y, rec_z] = self.recon_size;
        let center = (enc_y / 2).saturating_sub(self.padding_left);
        let maximum = self
            .padding_right
            .saturating_sub(self.padding_left)
            .saturating_sub(1);
        let mut xml = String::new();
        xml.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
        let _ = writeln!(xml, "<ismrmrdHeader xmlns=\"{ISMRMRD_NAMESPACE}\">");
        xml.push_str("  <encoding>\n");
        let _ = writeln!(
            xml,
            "    <encodedSpace><matrixSize><x>{enc_x}</x><y>{enc_y}</y><z>{enc_z}</z></matrixSize></encodedSpace>"
        );
        let _ = writeln!(
            xml,
            "    <reconSpace><matrixSize><x>{rec_x}</x><y>{rec_y}</y><z>{rec_z}</z></matrixSize></reconSpace>"
        );
        xml.push_str("    <encodingLimits>\n");
        let _ = writeln!(
            xml,
            "      <kspace_encoding_step_1><minimum>0</minimum><maximum>{maximum}</maximum><center>{center}</center></kspace_encoding_step_1>"
        );
        xml.push_str("    </encodingLimits>\n");
        xml.push_str("    <trajectory>cartesian</trajectory>\n");
        xml.push_str("  </encoding>\n");
        xml.push_str("</ismrmrdHeader>\n");
        xml
    }
}

fn missing(element: &str) -> HeaderError {
    HeaderError::MissingElement {
        element: element.to_owned(),
    }
}

/// Returns the first child element named `name` in the ISMRMRD namespace or in no namespace.
fn child<'a, 'input>(
    node: roxmltree::Node<'a, 'input>,
    name: &str,
) -> Option<roxmltree::Node<'a, 'input>> {
    node.children().find(|n| {
        let tag = n.tag_name();
        n.is_element()
            && tag.name() == name
            && matches!(tag.namespace(), None | Some(ISMRMRD_NAMESPACE))
    })
}

fn matrix_size(encoding: roxmltree::Node, space: &str) -> Result<[usize; 3], HeaderError> {
    let mut size = [0; 3];
    for (value, axis) in size.iter_mut().zip(["x", "y", "z"]) {
        *value = number(encoding, &[space, "matrixSize", axis])?;
    }
    Ok(size)
}

/// Reads the non-negative integer at `path` below `encoding`.
fn number(encoding: roxmltree::Node, path: &[&str]) -> Result<usize, HeaderError> {
    let element = format!("encoding/{}", path.join("/"));
    let mut node = encoding;
    for name in path {
        node = child(node, name).ok_or_else(|| missing(&element))?;
    }
    let text = node.text().unwrap_or("").trim();
    text.parse().map_err(|_| HeaderError::InvalidNumber {
        element,
        value: text.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn knee_header(center: usize, maximum: usize) -> String {
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD" xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <studyInformation><studyTime>12:00:00</studyTime></studyInformation>
  <encoding>
    <encodedSpace>
      <matrixSize><x>640</x><y>372</y><z>1</z></matrixSize>
      <fieldOfView_mm><x>280</x><y>280</y><z>4.5</z></fieldOfView_mm>
    </encodedSpace>
    <reconSpace><matrixSize><x> 320 </x><y>320</y><z>1</z></matrixSize></reconSpace>
    <encodingLimits>
      <kspace_encoding_step_1><minimum>0</minimum><maximum>{maximum}</maximum><center>{center}</center></kspace_encoding_step_1>
    </encodingLimits>
  </encoding>
</ismrmrdHeader>"#
        )
    }

    #[test]
    fn padding_from_encoding_limits() {
        // W_enc = 372: padding_left = 186 - 168 = 18, padding_right = 18 + 333 + 1 = 352.
        let geometry = Geometry::from_ismrmrd_xml(&knee_header(168, 333)).unwrap();
        assert_eq!(geometry.encoded_size, [640, 372, 1]);
        assert_eq!(geometry.recon_size, [320, 320, 1]);
        assert_eq!(geometry.padding_left, 18);
        assert_eq!(geometry.padding_right, 352);
        assert_eq!(geometry.source, GeometrySource::Header);
        assert!(geometry.is_padding_column(17));
        assert!(!geometry.is_padding_column(18));
        assert!(!geometry.is_padding_column(351));
        assert!(geometry.is_padding_column(352));
    }

    #[test]
    fn inconsistent_limits_are_clamped() {
        let geometry = Geometry::from_ismrmrd_xml(&knee_header(200, 371)).unwrap();
        assert_eq!(geometry.padding_left, 0);
        assert_eq!(geometry.padding_right, 372);
    }

    #[test]
    fn xml_round_trip() {
        let geometry = Geometry::from_ismrmrd_xml(&knee_header(168, 333)).unwrap();
        let again = Geometry::from_ismrmrd_xml(&geometry.to_ismrmrd_xml()).unwrap();
        assert_eq!(again, geometry);
    }

    #[test]
    fn header_without_namespace_is_accepted() {
        let xml = knee_header(168, 333).replace(" xmlns=\"http://www.ismrm.org/ISMRMRD\"", "");
        assert_eq!(Geometry::from_ismrmrd_xml(&xml).unwrap().padding_left, 18);
    }

    #[test]
    fn other_namespace_is_rejected() {
        let xml = knee_header(168, 333).replace("http://www.ismrm.org/ISMRMRD", "urn:other");
        let err = Geometry::from_ismrmrd_xml(&xml).unwrap_err();
        assert!(
            matches!(err, HeaderError::MissingElement { ref element } if element == "encoding")
        );
    }

    #[test]
    fn missing_and_invalid_elements_are_named() {
        let no_limits = knee_header(168, 333).replace("<center>168</center>", "");
        let err = Geometry::from_ismrmrd_xml(&no_limits).unwrap_err();
        assert!(err
            .to_string()
            .contains("encoding/encodingLimits/kspace_encoding_step_1/center"));

        let negative = knee_header(168, 333).replace("<y>372</y>", "<y>-3</y>");
        let err = Geometry::from_ismrmrd_xml(&negative).unwrap_err();
        assert!(matches!(err, HeaderError::InvalidNumber { ref value, .. } if value == "-3"));

        let err = Geometry::from_ismrmrd_xml("<ismrmrdHeader><encoding>").unwrap_err();
        assert!(matches!(err, HeaderError::Xml { .. }));
    }

    #[test]
    fn shapes_rule() {
        let knee = Geometry::from_shapes(640, 368, None);
        assert_eq!(knee.recon_size, [320, 320, 1]);
        assert_eq!((knee.padding_left, knee.padding_right), (0, 368));
        assert_eq!(Geometry::from_shapes(640, 276, None).recon_hw(), [276, 276]);
        assert_eq!(Geometry::from_shapes(320, 160, None).recon_hw(), [160, 160]);
        assert_eq!(Geometry::from_shapes(180, 230, None).recon_hw(), [180, 230]);
        assert_eq!(
            Geometry::from_shapes(640, 368, Some([300, 310])).recon_hw(),
            [300, 310]
        );
    }
}
