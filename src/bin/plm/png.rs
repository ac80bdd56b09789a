//! `--figure night.png`: the report's SVG figure rendered to PNG in pure Rust (resvg and
//! tiny-skia), with a bundled open-licence font (Noto Sans, SIL OFL) so that the text looks
//! the same on every machine and no system font is needed. Only the binary renders: the
//! library writes SVG and stays free of a font stack.

use plm_detect::Error;
use resvg::{tiny_skia, usvg};

/// Pixels per SVG unit: 2000 px wide for the 1000-unit figure, sharp in print.
const SCALE: f32 = 2.0;

/// `svg` as PNG bytes.
pub(super) fn render(svg: &str) -> Result<Vec<u8>, Error> {
    let fail = |what: String| Error::Config {
        field: "figure",
        message: format!("the figure could not be rendered as PNG: {what}"),
    };
    let mut opt = usvg::Options::default();
    let fonts = opt.fontdb_mut();
    fonts.load_font_data(ttf_noto_sans::REGULAR.to_vec());
    fonts.set_sans_serif_family("Noto Sans");
    opt.font_family = "Noto Sans".into();
    let tree = usvg::Tree::from_str(svg, &opt).map_err(|e| fail(e.to_string()))?;
    let size = tree.size();
    let (w, h) = (
        (size.width() * SCALE).ceil() as u32,
        (size.height() * SCALE).ceil() as u32,
    );
    let mut pixmap = tiny_skia::Pixmap::new(w, h).ok_or_else(|| fail(format!("{w} × {h} px")))?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(SCALE, SCALE),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().map_err(|e| fail(e.to_string()))
}
