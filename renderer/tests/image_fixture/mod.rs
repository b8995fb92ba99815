//! Shared pieces of the image-helper tests: images with known texels, descriptor tables
//! resolved through a `DescriptorSet`, requests, and one call of the helper.
#![allow(dead_code, clippy::unwrap_used)]

use renderer::format::{aspect, Format};
use renderer::image::{Image, ImageDesc, ImageType, Tiling};
use renderer::sampler::{
    AddressMode, BorderColor, ComponentSwizzle, Filter, ImageDescriptor, ImageTable, ImageView,
    MipmapMode, Sampler, SamplerState, ViewType,
};
use renderer::{DescriptorSet, DescriptorSource};
use shader::abi::{ImageRequest, ImageResult, MAX_IMAGE_LANES};
use shader::ir::{ImageBinding, ImageDim, ImageKind, SampledType};

pub fn image(ty: ImageType, format: Format, extent: [u32; 3], levels: u32, layers: u32) -> Image {
    Image::new_host(ImageDesc {
        image_type: ty,
        format,
        extent,
        mip_levels: levels,
        array_layers: layers,
        tiling: Tiling::Optimal,
    })
    .unwrap()
}

pub fn view(image: &Image, view_type: ViewType, levels: u32, layers: u32) -> ImageView {
    let format = image.format();
    ImageView {
        image: image.clone(),
        view_type,
        format,
        components: [ComponentSwizzle::Identity; 4],
        aspect_mask: if format.is_color() {
            aspect::COLOR
        } else {
            aspect::DEPTH
        },
        base_level: 0,
        level_count: levels,
        base_layer: 0,
        layer_count: layers,
    }
}

pub fn sampler_state() -> SamplerState {
    SamplerState {
        mag_filter: Filter::Nearest,
        min_filter: Filter::Nearest,
        mipmap_mode: MipmapMode::Nearest,
        address_modes: [AddressMode::ClampToEdge; 3],
        mip_lod_bias: 0.0,
        compare: None,
        min_lod: 0.0,
        max_lod: 1000.0,
        border_color: BorderColor::FloatTransparentBlack,
        unnormalized_coordinates: false,
    }
}

pub fn binding(kind: ImageKind, dim: ImageDim, arrayed: bool) -> ImageBinding {
    ImageBinding {
        set: 0,
        binding: 0,
        array_index: 0,
        kind,
        dim,
        arrayed,
        multisampled: false,
        format: 0,
        sampled_type: SampledType::Float,
    }
}

/// A table with one combined image sampler slot bound to `view` with `state`.
pub fn combined(view: ImageView, state: SamplerState, dim: ImageDim, arrayed: bool) -> ImageTable {
    let mut set = DescriptorSet::new();
    set.bind_image(
        0,
        0,
        ImageDescriptor::Image {
            view,
            sampler: Some(Sampler::new(state).unwrap()),
        },
    );
    let sets = [&set];
    let source: &[&DescriptorSet] = &sets;
    ImageTable::resolve(
        &[binding(ImageKind::CombinedImageSampler, dim, arrayed)],
        &[],
        &source as &dyn DescriptorSource,
    )
    .unwrap()
}

/// A table with one slot of `kind` bound to `descriptor`.
pub fn table(
    kind: ImageKind,
    dim: ImageDim,
    arrayed: bool,
    descriptor: ImageDescriptor,
) -> ImageTable {
    let mut set = DescriptorSet::new();
    set.bind_image(0, 0, descriptor);
    let sets = [&set];
    let source: &[&DescriptorSet] = &sets;
    ImageTable::resolve(
        &[binding(kind, dim, arrayed)],
        &[],
        &source as &dyn DescriptorSource,
    )
    .unwrap()
}

/// A request of `op` for the first `lanes` lanes, everything else zero.
pub fn request(op: u32, flags: u32, lanes: usize, coord_count: u32) -> ImageRequest {
    ImageRequest::new(op, flags, lanes, coord_count)
}

/// Sets lane `l`'s float coordinates.
pub fn set_coords(req: &mut ImageRequest, l: usize, coords: &[f32]) {
    for (c, v) in coords.iter().enumerate() {
        req.coords[c][l] = v.to_bits();
    }
}

/// Sets lane `l`'s integer coordinates.
pub fn set_int_coords(req: &mut ImageRequest, l: usize, coords: &[i32]) {
    for (c, v) in coords.iter().enumerate() {
        req.coords[c][l] = *v as u32;
    }
}

/// Calls the helper through the table's context resources, as compiled code does, on slot 0
/// (with the slot's own sampler, or separate sampler `sampler` of the table).
pub fn call(
    table: &ImageTable,
    req: &ImageRequest,
    separate_sampler: Option<usize>,
) -> ImageResult {
    let resources = table.resources();
    let helper = resources.image_op.unwrap();
    let slot = table.slots()[0];
    let sampler = match separate_sampler {
        Some(i) => table.samplers()[i],
        None => slot.sampler,
    };
    let mut result = ImageResult {
        texel: [[0xdead_beef; MAX_IMAGE_LANES]; 4],
    };
    // SAFETY: the slot's pointers come from `table`, alive for the call; request and result
    // are distinct locals.
    unsafe { helper(slot.image, sampler, req, &mut result) };
    result
}

/// Lane `l`'s result as floats.
pub fn floats(res: &ImageResult, l: usize) -> [f32; 4] {
    std::array::from_fn(|c| f32::from_bits(res.texel[c][l]))
}

/// Lane `l`'s result as integer bits.
pub fn words(res: &ImageResult, l: usize) -> [u32; 4] {
    std::array::from_fn(|c| res.texel[c][l])
}

pub fn assert_close(got: [f32; 4], want: [f32; 4], what: &str) {
    for c in 0..4 {
        assert!(
            (got[c] - want[c]).abs() <= 1e-5,
            "{what}: component {c}: got {got:?}, want {want:?}"
        );
    }
}
