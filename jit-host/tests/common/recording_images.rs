//! An `image_op` helper for tests that records every request compiled code makes (with the
//! image and sampler descriptors it arrives with) and answers what the test's [`Answers`]
//! says, plus slot tables of fake descriptor addresses that name each slot.

use std::cell::RefCell;
use std::ffi::c_void;

use shader::abi::{ImageRequest, ImageResources, ImageResult, ImageSlot};
use shader::ir::{ImageKind, Module, SampledType};

/// One recorded helper call.
#[derive(Clone, Copy)]
pub struct Call {
    pub image: usize,
    pub sampler: usize,
    pub req: ImageRequest,
}

thread_local! {
    static CALLS: RefCell<Vec<Call>> = const { RefCell::new(Vec::new()) };
}

/// Image descriptors are fake addresses: `IMAGE_BASE + 16 * slot` (plus the test's
/// [`Answers::INT_IMAGE_TAG`] when the slot's components are integers). Separate samplers:
/// `SAMPLER_BASE + 16 * index`; combined slots' own samplers `COMBINED_BASE + 16 * slot`.
pub const IMAGE_BASE: usize = 0x10_0000;
pub const SAMPLER_BASE: usize = 0x20_0000;
pub const COMBINED_BASE: usize = 0x30_0000;

/// What a test's helper answers.
pub trait Answers {
    /// Added to the image address of a slot whose components are not float.
    const INT_IMAGE_TAG: usize;
    /// Component `c` of lane `l`'s answer to request `r` on `image`.
    fn answer(image: usize, r: &ImageRequest, c: usize, l: usize) -> u32;
}

unsafe extern "C" fn record<A: Answers>(
    image: *const c_void,
    sampler: *const c_void,
    request: *const ImageRequest,
    result: *mut ImageResult,
) {
    // SAFETY: compiled code passes its live, aligned request for the call.
    let r = unsafe { *request };
    // SAFETY: as above, the result is live, aligned and not otherwise borrowed.
    let out = unsafe { &mut *result };
    CALLS.with(|c| {
        c.borrow_mut().push(Call {
            image: image as usize,
            sampler: sampler as usize,
            req: r,
        })
    });
    for l in 0..r.lanes as usize {
        if r.mask & (1 << l) != 0 {
            for c in 0..4 {
                out.texel[c][l] = A::answer(image as usize, &r, c, l);
            }
        }
    }
}

/// Slot tables for a module (kept alive by the caller while the kernel runs).
pub struct Tables {
    slots: Vec<ImageSlot>,
    samplers: Vec<*const c_void>,
    image_op: shader::abi::ImageOpFn,
}

impl Tables {
    /// Tables for `m` whose helper answers as `A` does.
    pub fn new<A: Answers>(m: &Module) -> Tables {
        let slots = m
            .images
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let int = if b.sampled_type == SampledType::Float {
                    0
                } else {
                    A::INT_IMAGE_TAG
                };
                let sampler = if b.kind == ImageKind::CombinedImageSampler {
                    COMBINED_BASE + 16 * i
                } else {
                    0
                };
                ImageSlot {
                    image: (IMAGE_BASE + 16 * i + int) as *const c_void,
                    sampler: sampler as *const c_void,
                }
            })
            .collect();
        let samplers = (0..m.samplers.len())
            .map(|j| (SAMPLER_BASE + 16 * j) as *const c_void)
            .collect();
        Tables {
            slots,
            samplers,
            image_op: record::<A>,
        }
    }

    pub fn resources(&self) -> ImageResources {
        ImageResources {
            images: self.slots.as_ptr(),
            samplers: self.samplers.as_ptr(),
            image_op: Some(self.image_op),
        }
    }
}

/// The calls recorded on this thread since the last take.
pub fn take_calls() -> Vec<Call> {
    CALLS.with(|c| std::mem::take(&mut *c.borrow_mut()))
}

/// The image slot of `binding[element]`.
pub fn image_slot(m: &Module, binding: u32, element: u32) -> usize {
    m.images
        .iter()
        .position(|b| (b.binding, b.array_index) == (binding, element))
        .unwrap_or_else(|| panic!("no image slot for binding {binding}[{element}]"))
}

/// The separate sampler slot of `binding[element]`.
pub fn sampler_slot(m: &Module, binding: u32, element: u32) -> usize {
    m.samplers
        .iter()
        .position(|b| (b.binding, b.array_index) == (binding, element))
        .unwrap_or_else(|| panic!("no sampler slot for binding {binding}[{element}]"))
}
