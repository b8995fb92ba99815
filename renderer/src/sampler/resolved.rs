//! What an [`shader::abi::ImageSlot`]'s opaque pointers point to: a [`ResolvedImage`] (an image
//! view or texel-buffer view with everything the helper needs decided once per draw or
//! dispatch) and a [`ResolvedSampler`].
//!
//! Texels are read and written through the image's and buffer's own bounds-checked copies
//! (`Image::read_texel`, `Buffer::read`), never through Rust references into the memory (it
//! may be guest RAM). Coordinates handed to [`ResolvedImage::load`] and friends are checked
//! again here against the view, so a caller's mistake gives the robust result, not an access
//! outside the view.

use std::sync::{Mutex, PoisonError};

use crate::buffer::Buffer;
use crate::error::RendererError;
use crate::format::texel::{unpack_stencil, ColorValue};
use crate::format::{aspect, pack_color, unpack_color, unpack_depth, Encoding, Format, ValueKind};
use crate::image::{Image, ImageType};

use super::fast::Texels8;
use super::{BufferView, ComponentSwizzle, ImageView, Sampler, SamplerState, ViewType};

/// Largest texel (R32G32B32A32).
pub(crate) const MAX_TEXEL_BYTES: usize = 16;

/// Which part of a texel reads give.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Aspect {
    Color,
    Depth,
    Stencil,
}

/// One component of a view's result after the component mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Select {
    Component(usize),
    Zero,
    One,
}

enum TexelSource {
    Image(Image),
    /// A texel buffer: `elements` texels from byte `offset` of `buffer`.
    Buffer {
        buffer: Buffer,
        offset: u64,
    },
}

/// A bound image view or texel-buffer view, resolved for the image helper.
pub struct ResolvedImage {
    source: TexelSource,
    /// The format texels are decoded with (the view's).
    pub(crate) format: Format,
    pub(crate) texel_size: usize,
    pub(crate) aspect: Aspect,
    /// What reads give: float for colour float classes and depth, integers otherwise.
    pub(crate) value: ValueKind,
    /// `None` for texel buffers.
    pub(crate) view_type: Option<ViewType>,
    /// Extent of the image's level 0.
    extent: [u32; 3],
    pub(crate) base_level: u32,
    pub(crate) level_count: u32,
    pub(crate) base_layer: u32,
    pub(crate) layer_count: u32,
    /// Texel-buffer elements (`range / texel size`).
    pub(crate) elements: u32,
    pub(crate) swizzle: [Select; 4],
    /// The bits of 1 in the view's value kind.
    pub(crate) one: u32,
    /// A decoder of its own for the common formats.
    pub(crate) fast: FastPath,
    /// The sampling fast path's view of the memory (8-bit RGBA/BGRA 2D views).
    pub(crate) texels8: Option<Texels8>,
}

/// Formats with a decoder of their own (the common sampled formats).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FastPath {
    Rgba8Unorm,
    Bgra8Unorm,
    None,
}

/// A sampler as the helper reads it.
#[derive(Clone, Copy, Debug)]
pub struct ResolvedSampler {
    pub(crate) state: SamplerState,
}

impl ResolvedSampler {
    pub fn new(sampler: &Sampler) -> ResolvedSampler {
        ResolvedSampler {
            state: *sampler.state(),
        }
    }
}

const BAD_VIEW: RendererError = RendererError::InvalidConfig(
    "image view outside its image, of a format of another size, or of a type the image cannot have",
);

fn swizzle_of(components: [ComponentSwizzle; 4]) -> [Select; 4] {
    let mut out = [Select::Zero; 4];
    for (i, c) in components.into_iter().enumerate() {
        out[i] = match c {
            ComponentSwizzle::Identity => Select::Component(i),
            ComponentSwizzle::Zero => Select::Zero,
            ComponentSwizzle::One => Select::One,
            ComponentSwizzle::R => Select::Component(0),
            ComponentSwizzle::G => Select::Component(1),
            ComponentSwizzle::B => Select::Component(2),
            ComponentSwizzle::A => Select::Component(3),
        };
    }
    out
}

fn one_of(kind: ValueKind) -> u32 {
    match kind {
        ValueKind::Float => 1.0f32.to_bits(),
        _ => 1,
    }
}

impl ResolvedImage {
    /// Resolves an image view, checking it against its image (the device layer validated
    /// it already; this keeps the helper's bounds honest whatever it was given).
    pub fn from_view(view: &ImageView) -> Result<ResolvedImage, RendererError> {
        let desc = *view.image.desc();
        let format = view.format;
        if format.texel_size() != desc.format.texel_size() {
            return Err(BAD_VIEW);
        }
        let levels_ok = view.level_count >= 1
            && view
                .base_level
                .checked_add(view.level_count)
                .is_some_and(|end| end <= desc.mip_levels);
        let layers_ok = view.layer_count >= 1
            && view
                .base_layer
                .checked_add(view.layer_count)
                .is_some_and(|end| end <= desc.array_layers);
        let type_ok = match view.view_type {
            ViewType::D1 | ViewType::D1Array => desc.image_type == ImageType::D1,
            ViewType::D2 | ViewType::D2Array => desc.image_type == ImageType::D2,
            ViewType::D3 => desc.image_type == ImageType::D3,
            ViewType::Cube => {
                desc.image_type == ImageType::D2
                    && view.layer_count == 6
                    && desc.extent[0] == desc.extent[1]
            }
            ViewType::CubeArray => {
                desc.image_type == ImageType::D2
                    && view.layer_count.is_multiple_of(6)
                    && desc.extent[0] == desc.extent[1]
            }
        };
        let single_layer = !matches!(
            view.view_type,
            ViewType::D1Array | ViewType::D2Array | ViewType::Cube | ViewType::CubeArray
        );
        if !levels_ok || !layers_ok || !type_ok || (single_layer && view.layer_count != 1) {
            return Err(BAD_VIEW);
        }
        let (aspect, value) = match view.aspect_mask {
            aspect::COLOR if format.is_color() => (Aspect::Color, format.info().class.value_kind()),
            aspect::DEPTH if format.has_depth() => (Aspect::Depth, ValueKind::Float),
            aspect::STENCIL if format.has_stencil() => (Aspect::Stencil, ValueKind::Uint),
            _ => {
                return Err(RendererError::InvalidConfig(
                    "image view aspect is not one aspect of its format",
                ))
            }
        };
        let fast = match (aspect, format) {
            (Aspect::Color, Format::R8G8B8A8_UNORM) => FastPath::Rgba8Unorm,
            (Aspect::Color, Format::B8G8R8A8_UNORM) => FastPath::Bgra8Unorm,
            _ => FastPath::None,
        };
        Ok(ResolvedImage {
            source: TexelSource::Image(view.image.clone()),
            format,
            texel_size: format.texel_size() as usize,
            aspect,
            value,
            view_type: Some(view.view_type),
            extent: desc.extent,
            base_level: view.base_level,
            level_count: view.level_count,
            base_layer: view.base_layer,
            layer_count: view.layer_count,
            elements: 0,
            swizzle: swizzle_of(view.components),
            one: one_of(value),
            fast,
            texels8: Texels8::from_view(view),
        })
    }

    /// Resolves a texel-buffer view: `range / texel size` elements (at most `u32::MAX`).
    pub fn from_buffer_view(view: &BufferView) -> Result<ResolvedImage, RendererError> {
        let format = view.format;
        let fits = view
            .offset
            .checked_add(view.range)
            .is_some_and(|end| end <= view.buffer.size());
        if !fits || !format.is_color() {
            return Err(RendererError::InvalidConfig(
                "texel-buffer view outside its buffer or of a non-colour format",
            ));
        }
        let texel_size = format.texel_size();
        let elements = u32::try_from(view.range / texel_size).unwrap_or(u32::MAX);
        let value = format.info().class.value_kind();
        Ok(ResolvedImage {
            source: TexelSource::Buffer {
                buffer: view.buffer.clone(),
                offset: view.offset,
            },
            format,
            texel_size: texel_size as usize,
            aspect: Aspect::Color,
            value,
            view_type: None,
            extent: [elements, 1, 1],
            base_level: 0,
            level_count: 1,
            base_layer: 0,
            layer_count: 1,
            elements,
            swizzle: swizzle_of([ComponentSwizzle::Identity; 4]),
            one: one_of(value),
            fast: FastPath::None,
            texels8: None,
        })
    }

    /// Extent of view level `level` (relative to the view's base level; any level gives at
    /// least 1 per dimension).
    #[inline]
    pub(crate) fn level_extent(&self, level: u32) -> [u32; 3] {
        let abs = self.base_level.saturating_add(level);
        self.extent.map(|e| e.checked_shr(abs).unwrap_or(0).max(1))
    }

    /// Reads the raw bytes of texel `coord` of view level `level`, view layer `layer`
    /// (element `coord[0]` of a texel buffer); `None` outside the view.
    fn read_bytes(&self, level: u32, layer: u32, coord: [u32; 3]) -> Option<[u8; MAX_TEXEL_BYTES]> {
        let mut raw = [0u8; MAX_TEXEL_BYTES];
        let out = raw.get_mut(..self.texel_size)?;
        match &self.source {
            TexelSource::Image(image) => {
                if level >= self.level_count || layer >= self.layer_count {
                    return None;
                }
                image
                    .read_texel(self.base_level + level, self.base_layer + layer, coord, out)
                    .ok()?;
            }
            TexelSource::Buffer { buffer, offset } => {
                let at = self.element_offset(*offset, coord[0])?;
                buffer.read(at, out).ok()?;
            }
        }
        Some(raw)
    }

    fn element_offset(&self, offset: u64, index: u32) -> Option<u64> {
        if index >= self.elements {
            return None;
        }
        offset.checked_add(u64::from(index) * self.texel_size as u64)
    }

    /// Writes texel bytes (see [`ResolvedImage::read_bytes`]); `false` outside the view.
    fn write_bytes(&self, level: u32, layer: u32, coord: [u32; 3], bytes: &[u8]) -> bool {
        let Some(texel) = bytes.get(..self.texel_size) else {
            return false;
        };
        match &self.source {
            TexelSource::Image(image) => {
                level < self.level_count
                    && layer < self.layer_count
                    && image
                        .write_texel(
                            self.base_level + level,
                            self.base_layer + layer,
                            coord,
                            texel,
                        )
                        .is_ok()
            }
            TexelSource::Buffer { buffer, offset } => self
                .element_offset(*offset, coord[0])
                .is_some_and(|at| buffer.write(at, texel).is_ok()),
        }
    }

    /// The texel's components (f32 or integer bits, before the component mapping), or those
    /// of an all-zero texel outside the view: 0 in R, G, B and an A of 0, or of 1 where the
    /// format has no alpha (robustImageAccess2's out-of-bounds value).
    #[inline]
    pub(crate) fn load(&self, level: u32, layer: u32, coord: [u32; 3]) -> [u32; 4] {
        let raw = self
            .read_bytes(level, layer, coord)
            .unwrap_or([0; MAX_TEXEL_BYTES]);
        self.decode(&raw)
    }

    /// What a read outside the view gives (see [`ResolvedImage::load`]).
    pub(crate) fn outside(&self) -> [u32; 4] {
        self.decode(&[0; MAX_TEXEL_BYTES])
    }

    /// Whether `coord` is a texel of view level `level`, layer `layer`.
    pub(crate) fn contains(&self, level: u32, layer: u32, coord: [u32; 3]) -> bool {
        if self.view_type.is_none() {
            return coord[0] < self.elements;
        }
        let [w, h, d] = self.level_extent(level);
        level < self.level_count
            && layer < self.layer_count
            && coord[0] < w
            && coord[1] < h
            && coord[2] < d
    }

    /// Decodes one texel's bytes (at least the texel size).
    #[inline]
    pub(crate) fn decode(&self, raw: &[u8; MAX_TEXEL_BYTES]) -> [u32; 4] {
        let unorm8 = |c: u8| (f32::from(c) / 255.0).to_bits();
        let texel = &raw[..self.texel_size.min(MAX_TEXEL_BYTES)];
        match (self.fast, self.aspect) {
            (FastPath::Rgba8Unorm, _) => [raw[0], raw[1], raw[2], raw[3]].map(unorm8),
            (FastPath::Bgra8Unorm, _) => [raw[2], raw[1], raw[0], raw[3]].map(unorm8),
            (_, Aspect::Color) => match unpack_color(self.format, texel) {
                Ok(ColorValue::Float(v)) => v.map(f32::to_bits),
                Ok(ColorValue::Uint(v)) => v,
                Ok(ColorValue::Sint(v)) => v.map(|c| c as u32),
                Err(_) => [0, 0, 0, self.one],
            },
            (_, Aspect::Depth) => {
                let d = unpack_depth(self.format, texel).unwrap_or(0.0);
                [d.to_bits(), 0, 0, self.one]
            }
            (_, Aspect::Stencil) => {
                let s = unpack_stencil(self.format, texel).unwrap_or(0);
                [u32::from(s), 0, 0, self.one]
            }
        }
    }

    /// Applies the view's component mapping.
    #[inline]
    pub(crate) fn swizzle(&self, texel: [u32; 4]) -> [u32; 4] {
        self.swizzle.map(|s| match s {
            Select::Component(c) => texel[c],
            Select::Zero => 0,
            Select::One => self.one,
        })
    }

    /// Encodes and stores `value` (f32 or integer bits by the format's class) at `coord`;
    /// outside the view, or for a format without a colour encoding, nothing is written.
    pub(crate) fn store(&self, level: u32, layer: u32, coord: [u32; 3], value: [u32; 4]) {
        if self.aspect != Aspect::Color || !self.contains(level, layer, coord) {
            return;
        }
        let color = match self.value {
            ValueKind::Float => ColorValue::Float(value.map(f32::from_bits)),
            ValueKind::Uint => ColorValue::Uint(value),
            ValueKind::Sint => ColorValue::Sint(value.map(|v| v as i32)),
        };
        let mut raw = [0u8; MAX_TEXEL_BYTES];
        let texel = &mut raw[..self.texel_size];
        if pack_color(self.format, color, texel).is_ok() {
            self.write_bytes(level, layer, coord, texel);
        }
    }

    /// Whether atomics work on this view: one 32-bit component (R32_UINT, R32_SINT,
    /// R32_SFLOAT).
    pub(crate) fn atomic_format(&self) -> bool {
        self.aspect == Aspect::Color
            && matches!(
                self.format.info().encoding,
                Encoding::Array {
                    channels: 1,
                    bits: 32
                }
            )
    }

    /// Replaces the 32-bit texel at `coord` by `update(old)` atomically with respect to every
    /// other image atomic, and returns the old value; `None` outside the view (nothing is
    /// written). `update` returning `None` leaves the texel unchanged.
    pub(crate) fn atomic(
        &self,
        level: u32,
        layer: u32,
        coord: [u32; 3],
        update: impl FnOnce(u32) -> Option<u32>,
    ) -> Option<u32> {
        if !self.atomic_format() || !self.contains(level, layer, coord) {
            return None;
        }
        let key = self.atomic_key(level, layer, coord);
        let stripe = &ATOMIC_STRIPES[(key % ATOMIC_STRIPES.len() as u64) as usize];
        let _guard = stripe.lock().unwrap_or_else(PoisonError::into_inner);
        let raw = self.read_bytes(level, layer, coord)?;
        let old = u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
        if let Some(new) = update(old) {
            self.write_bytes(level, layer, coord, &new.to_le_bytes());
        }
        Some(old)
    }

    /// A number that is equal for the same texel of the same image or buffer (two buffer
    /// objects aliasing one memory are not serialised against each other).
    fn atomic_key(&self, level: u32, layer: u32, coord: [u32; 3]) -> u64 {
        let identity = match &self.source {
            TexelSource::Image(image) => {
                let id = std::ptr::from_ref(image.layout()) as u64;
                let at = image
                    .layout()
                    .texel_offset(self.base_level + level, self.base_layer + layer, coord)
                    .unwrap_or(0);
                id.wrapping_mul(31).wrapping_add(at)
            }
            TexelSource::Buffer { buffer, offset } => {
                let at = self.element_offset(*offset, coord[0]).unwrap_or(0);
                at.wrapping_add(buffer.size().wrapping_mul(0x9e37_79b9))
            }
        };
        identity.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32
    }
}

/// Image atomics serialise on one of these, chosen by the texel: the helper reaches image
/// memory only through bounds-checked copies, so a read-modify-write is made atomic by
/// holding the texel's stripe (every image atomic goes through the helper).
static ATOMIC_STRIPES: [Mutex<()>; 64] = [const { Mutex::new(()) }; 64];

impl std::fmt::Debug for ResolvedImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedImage")
            .field("format", &self.format)
            .field("view_type", &self.view_type)
            .field("levels", &(self.base_level, self.level_count))
            .field("layers", &(self.base_layer, self.layer_count))
            .finish_non_exhaustive()
    }
}
