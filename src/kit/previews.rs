//! Thumbnails (320 px) and previews (1280 px) of JPEG, PNG and WebP
//! pictures, made once and kept. The picture is turned upright by its EXIF
//! orientation first; what is written is a fresh JPEG that carries no
//! metadata at all, so no GPS position leaks to whoever views it. The
//! stored original keeps every byte it came with.

use std::io::Cursor;

use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageReader, Rgb, RgbImage};

use crate::error::{AppError, AppResult};
use crate::storage::Derived;

/// The largest picture side decoded for a thumbnail or preview.
const MAX_DECODED_SIDE: u32 = 16_384;
/// The most memory one decoding may take.
const MAX_DECODED_BYTES: u64 = 384 * 1024 * 1024;

/// How many pictures are decoded at once: one per core. Each may take
/// hundreds of megabytes; the rest wait their turn (never fail).
static DECODING: (std::sync::Mutex<usize>, std::sync::Condvar) =
    (std::sync::Mutex::new(0), std::sync::Condvar::new());

fn decoders() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// A turn at decoding, given back when dropped.
struct Turn;

impl Turn {
    fn take() -> Turn {
        let (count, freed) = &DECODING;
        let mut busy = count.lock().unwrap_or_else(|p| p.into_inner());
        while *busy >= decoders() {
            busy = freed.wait(busy).unwrap_or_else(|p| p.into_inner());
        }
        *busy += 1;
        Turn
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let (count, freed) = &DECODING;
        let mut busy = count.lock().unwrap_or_else(|p| p.into_inner());
        *busy = busy.saturating_sub(1);
        freed.notify_one();
    }
}

/// A smaller copy of `original` (JPEG, quality 85), never larger than the
/// original's own size. Waits for a turn when every core is decoding.
pub fn make(original: &[u8], size: Derived) -> AppResult<Vec<u8>> {
    let _turn = Turn::take();
    let unreadable = |e: image::ImageError| {
        AppError::rule(
            "preview_unavailable",
            "size",
            format!(
                "this picture cannot be decoded for a {}: {e}",
                size.as_str()
            ),
        )
    };
    let mut reader = ImageReader::new(Cursor::new(original))
        .with_guessed_format()
        .map_err(|e| AppError::internal(format!("reading a picture: {e}")))?;
    // a few kilobytes of PNG may claim a billion pixels: refuse to decode
    // more than a large phone photo (a 200-megapixel sensor is 16,320 px wide)
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_DECODED_SIDE);
    limits.max_image_height = Some(MAX_DECODED_SIDE);
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(unreadable)?;
    let orientation = decoder.orientation().map_err(unreadable)?;
    let mut picture = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    picture.apply_orientation(orientation);
    let max = size.max_side();
    if picture.width() > max || picture.height() > max {
        picture = picture.resize(max, max, FilterType::Triangle);
    }
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&on_white(&picture))
        .map_err(|e| AppError::internal(format!("encoding a {}: {e}", size.as_str())))?;
    Ok(out)
}

/// JPEG has no transparency: transparent parts of a PNG or WebP are shown
/// on white, as a page would show them (not on black).
fn on_white(picture: &DynamicImage) -> RgbImage {
    if !picture.color().has_alpha() {
        return picture.to_rgb8();
    }
    let rgba = picture.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let p = rgba.get_pixel(x, y).0;
        let a = u16::from(p[3]);
        let blend = |c: u8| ((u16::from(c) * a + 255 * (255 - a)) / 255) as u8;
        Rgb([blend(p[0]), blend(p[1]), blend(p[2])])
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let picture = image::RgbaImage::from_pixel(width, height, image::Rgba([10, 20, 30, 0]));
        let mut out = Cursor::new(Vec::new());
        DynamicImage::ImageRgba8(picture)
            .write_to(&mut out, image::ImageFormat::Png)
            .unwrap();
        out.into_inner()
    }

    #[test]
    fn a_thumbnail_fits_in_320_pixels_and_keeps_the_shape() {
        let small = make(&png(1000, 500), Derived::Thumbnail).unwrap();
        let picture = image::load_from_memory(&small).unwrap();
        assert_eq!((picture.width(), picture.height()), (320, 160));
    }

    #[test]
    fn a_picture_smaller_than_the_size_is_not_enlarged() {
        let small = make(&png(200, 100), Derived::Preview).unwrap();
        let picture = image::load_from_memory(&small).unwrap();
        assert_eq!((picture.width(), picture.height()), (200, 100));
    }

    #[test]
    fn transparent_parts_are_shown_on_white() {
        let small = make(&png(10, 10), Derived::Thumbnail).unwrap();
        let picture = image::load_from_memory(&small).unwrap().to_rgb8();
        assert!(picture.get_pixel(5, 5).0.iter().all(|c| *c > 240));
    }
}
