//! softgpu shader IR: the contract between the SPIR-V front end (in the device) and the code
//! generator (in jit-host).
//!
//! Shape, chosen so that an SoA back end ("one SIMD lane per invocation") is simple:
//!
//! * **Scalar SSA.** Every [`ValueId`] names one scalar of a [`ScalarType`]. The front end
//!   flattens vectors, matrices, structs and arrays into their scalar leaves; the back end maps
//!   each value to a `<W x T>` vector (or a plain scalar where it proves the value uniform).
//! * **Structured control flow** as a statement tree ([`Stmt::If`], [`Stmt::Loop`],
//!   [`Stmt::Breakable`]), never a CFG.
//! * **Lexical scoping of values.** A value may be used only after its definition, in the same
//!   statement list or in lists nested inside it. Anything that flows out of a construct (SPIR-V
//!   `OpPhi`, a value defined in a loop and used after it) goes through a [`VarId`]: a
//!   per-invocation scalar register written with [`Stmt::SetVar`] and read with [`Op::GetVar`].
//! * **Memory is byte-addressed** per [`Space`] with a 64-bit byte offset value
//!   ([`ScalarType::I64`], treated as unsigned). The front end resolves access chains with the
//!   SPIR-V layout decorations; the back end bounds-checks every access against the space's size
//!   at run time (out-of-bounds loads give 0, stores and atomics do nothing), whatever the IR says.
//!
//! The IR is serialised with `postcard` between processes; [`IR_VERSION`] changes whenever the
//! encoding or the meaning of any item changes.

use serde::{Deserialize, Serialize};

mod image;
pub use image::{
    allowed_on, coord_count, spatial_dims, DerivAxis, DescriptorIndex, ImageLod, ImageOp,
    ImageOpKind,
};

/// Version of the IR encoding and semantics. Bump on any change.
pub const IR_VERSION: u32 = 7;

/// Largest workgroup (invocations) the IR may declare; Vulkan's maxComputeWorkGroupInvocations
/// that we report.
pub const MAX_WORKGROUP_INVOCATIONS: u32 = 1024;

/// Largest per-invocation private memory, in bytes.
pub const MAX_PRIVATE_MEMORY: u32 = 16 * 1024;

/// Most vars a module may declare. The back end keeps each var in a stack slot of one SIMD
/// vector per kernel call, so this bounds that part of a kernel's stack frame
/// (16384 × 16 lanes × 8 bytes = 2 MiB at most) whatever the shader declares.
pub const MAX_VARS: usize = 16384;

/// Largest workgroup memory, in bytes (maxComputeSharedMemorySize).
pub const MAX_WORKGROUP_MEMORY: u32 = 32 * 1024;

/// Largest push-constant block, in bytes (maxPushConstantsSize).
pub const MAX_PUSH_CONSTANTS: u32 = 256;

#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct ValueId(pub u32);

#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct VarId(pub u32);

/// Names a [`Stmt::Loop`] or [`Stmt::Breakable`] for [`Stmt::Break`] / [`Stmt::Continue`].
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct LabelId(pub u32);

/// Scalar types. Integers carry no signedness (as in LLVM): operations say how they read them.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ScalarType {
    Bool,
    I8,
    I16,
    I32,
    I64,
    F32,
}

impl ScalarType {
    /// Size in memory, in bytes. `Bool` is stored as a 32-bit 0/1 word.
    pub fn size(self) -> u32 {
        match self {
            ScalarType::I8 => 1,
            ScalarType::I16 => 2,
            ScalarType::Bool | ScalarType::I32 | ScalarType::F32 => 4,
            ScalarType::I64 => 8,
        }
    }
    pub fn is_int(self) -> bool {
        matches!(
            self,
            ScalarType::I8 | ScalarType::I16 | ScalarType::I32 | ScalarType::I64
        )
    }
    pub fn is_float(self) -> bool {
        matches!(self, ScalarType::F32)
    }
    /// Bit width of the value in registers (`Bool` is 1).
    pub fn bits(self) -> u32 {
        match self {
            ScalarType::Bool => 1,
            other => other.size() * 8,
        }
    }
}

/// Which shader stage the module is an entry point for.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Stage {
    Compute,
    Vertex,
    Fragment,
}

/// Most interface locations a stage may use (inputs or outputs); bounds the slot tables.
pub const MAX_INTERFACE_LOCATIONS: u32 = 32;

/// How the rasterizer interpolates a fragment input (Vulkan §16.1 "Interpolation
/// decorations"). `Centroid` is treated as pixel center (single-sample only), `Sample` is
/// refused by the front end. Meaningless (always `Smooth`) for vertex inputs.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Interpolation {
    /// Perspective-correct.
    Smooth,
    /// The provoking vertex's value.
    Flat,
    /// Linear in screen space.
    NoPerspective,
}

/// One 32-bit lane of a stage input: `Location` + `Component` after flattening arrays,
/// matrices and structs. Read with [`Op::Input`] by index into [`Module::inputs`]; the back
/// end fills one value per SIMD lane (vertex attributes per vertex, interpolants per pixel).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct InputSlot {
    pub location: u32,
    /// 0..=3.
    pub component: u8,
    /// `I32` or `F32`.
    pub ty: ScalarType,
    pub interp: Interpolation,
}

/// Where a stage output goes.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum OutputTarget {
    /// A user output (vertex varying or fragment color attachment).
    Location { location: u32, component: u8 },
    /// `gl_Position` component 0..=3 (vertex).
    Position(u8),
    /// `gl_PointSize` (vertex).
    PointSize,
    /// `gl_FragDepth` (fragment).
    FragDepth,
}

/// One 32-bit stage output. Its value is the value of `var` when the invocation ends (vars
/// start at 0); the shader reads and writes it with `GetVar` / `SetVar` like any register.
/// A fragment invocation ended by [`Stmt::Kill`] or demoted by [`Stmt::Demote`] writes none
/// of its outputs.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct OutputSlot {
    pub target: OutputTarget,
    /// `I32` or `F32`; equals `var`'s type.
    pub ty: ScalarType,
    pub var: VarId,
}

/// Depth behaviour a fragment shader declares (Vulkan §28.x; the rasterizer picks early or
/// late depth/stencil tests from it).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum DepthMode {
    /// No `DepthGreater/Less/Unchanged`: a written depth may be anything.
    #[default]
    Any,
    Greater,
    Less,
    Unchanged,
}

/// Fragment execution modes. All `false` / `Any` for other stages.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct FragmentModes {
    /// `EarlyFragmentTests`: depth/stencil tests run before the shader, even if it has side
    /// effects.
    pub early_fragment_tests: bool,
    /// `DepthReplacing`: the shader writes `FragDepth`.
    pub depth_replacing: bool,
    pub depth: DepthMode,
    /// The shader can end an invocation early or demote it (Kill / TerminateInvocation /
    /// DemoteToHelperInvocation): depth writes cannot be done before it runs.
    pub discards: bool,
}

/// What a buffer slot is bound to (Vulkan descriptor set + binding, with array element).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct BufferBinding {
    pub set: u32,
    pub binding: u32,
    /// Element of an arrayed descriptor binding (0 when not arrayed).
    pub array_index: u32,
    pub kind: BufferKind,
    /// `NonWritable` on the block or all its members: the back end may treat loads as
    /// invariant within a dispatch.
    pub read_only: bool,
}

#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum BufferKind {
    /// `StorageBuffer` storage class (or `Uniform` + `BufferBlock`).
    Storage,
    /// `Uniform` storage class with `Block`.
    Uniform,
}

/// What an image slot is bound to (Vulkan descriptor set + binding, with array element).
///
/// Image operations name a slot by its index into [`Module::images`]; compiled code passes the
/// slot's opaque descriptor pointers (`abi::ImageSlot`) to the context's image helper and never
/// reads image memory itself.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ImageBinding {
    pub set: u32,
    pub binding: u32,
    /// Element of an arrayed descriptor binding (0 when not arrayed).
    pub array_index: u32,
    pub kind: ImageKind,
    pub dim: ImageDim,
    /// `Arrayed` in the SPIR-V image type.
    pub arrayed: bool,
    /// `MS` in the SPIR-V image type.
    pub multisampled: bool,
    /// The SPIR-V image type's `Image Format` as a `VkFormat` number (0: `Unknown`). Storage
    /// images only; sampled images read the view's format.
    pub format: u32,
    /// What a read gives: float, signed or unsigned integer components.
    pub sampled_type: SampledType,
}

/// The descriptor type an image slot takes.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ImageKind {
    /// `VK_DESCRIPTOR_TYPE_SAMPLED_IMAGE` (combined with a [`SamplerBinding`] in the shader).
    Sampled,
    /// `VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER`: the slot carries its own sampler.
    CombinedImageSampler,
    /// `VK_DESCRIPTOR_TYPE_STORAGE_IMAGE`.
    Storage,
    /// `VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER`.
    UniformTexelBuffer,
    /// `VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER`.
    StorageTexelBuffer,
    /// `VK_DESCRIPTOR_TYPE_INPUT_ATTACHMENT` (`SubpassData` images).
    InputAttachment,
}

/// `Dim` of a SPIR-V image type.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ImageDim {
    D1,
    D2,
    D3,
    Cube,
    Buffer,
    SubpassData,
}

/// The component type of a SPIR-V image's `Sampled Type`.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum SampledType {
    Float,
    Int,
    Uint,
}

/// What a separate-sampler slot is bound to (`VK_DESCRIPTOR_TYPE_SAMPLER`).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct SamplerBinding {
    pub set: u32,
    pub binding: u32,
    /// Element of an arrayed descriptor binding (0 when not arrayed).
    pub array_index: u32,
}

/// An address space.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Space {
    /// Index into [`Module::buffers`]. Size: the bound range, known at run time.
    Buffer(u32),
    /// A dynamically indexed array of buffer blocks (`blocks[i].x` with `i` not a constant,
    /// shader{Uniform,Storage}BufferArrayDynamicIndexing): slots `first..first + index.len`
    /// of [`Module::buffers`] are its elements, `index` picks one. As for image arrays
    /// ([`DescriptorIndex`]) the index is dynamically uniform, so the back end reads it from
    /// one executing lane; an index `>= len` selects a null descriptor (size 0: loads give 0,
    /// stores and atomics are dropped).
    BufferArray { first: u32, index: DescriptorIndex },
    /// Push-constant block. Size: [`Module::push_constant_size`] (run time may bind less).
    PushConstant,
    /// Per-workgroup shared memory, zero at the start of every workgroup.
    /// Size: [`Module::workgroup_memory_size`].
    Workgroup,
    /// Per-invocation memory (Function / Private variables that are indexed dynamically or
    /// too large for registers). Zero at the start of every invocation.
    /// Size: [`Module::private_memory_size`].
    Private,
}

/// A memory location: `space` at byte `offset` (an `I64` value, read as unsigned).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct MemRef {
    pub space: Space,
    pub offset: ValueId,
}

impl MemRef {
    /// The values the reference reads: the offset, then a buffer array's index.
    pub fn operands(&self) -> impl Iterator<Item = ValueId> {
        let index = match self.space {
            Space::BufferArray { index, .. } => Some(index.index),
            _ => None,
        };
        std::iter::once(self.offset).chain(index)
    }

    /// Replaces every value the reference reads by `f` of it.
    pub fn map_operands(&mut self, f: impl Fn(ValueId) -> ValueId) {
        self.offset = f(self.offset);
        if let Space::BufferArray { index, .. } = &mut self.space {
            index.index = f(index.index);
        }
    }
}

/// Compute builtins, one scalar each (component 0..3 = x, y, z).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Builtin {
    GlobalInvocationId(u8),
    LocalInvocationId(u8),
    LocalInvocationIndex,
    WorkgroupId(u8),
    NumWorkgroups(u8),
    /// W, the SIMD width chosen by the back end.
    SubgroupSize,
    SubgroupLocalInvocationId,
    SubgroupId,
    NumSubgroups,
    /// Vertex builtins (I32). VertexIndex and InstanceIndex include the base.
    VertexIndex,
    InstanceIndex,
    BaseVertex,
    BaseInstance,
    /// Fragment builtins. FragCoord (F32, component 0..3 = x, y, z, 1/w; x, y at the pixel
    /// center), FrontFacing (Bool), HelperInvocation (Bool, the value at invocation start),
    /// PointCoord (F32, component 0..1).
    FragCoord(u8),
    FrontFacing,
    HelperInvocation,
    PointCoord(u8),
    /// `ViewIndex` (I32, vertex and fragment; capability MultiView): the view of a multiview
    /// draw being rendered, uniform across the draw (0 outside multiview).
    ViewIndex,
}

impl Builtin {
    /// The builtin's scalar type.
    pub fn ty(self) -> ScalarType {
        match self {
            Builtin::FragCoord(_) | Builtin::PointCoord(_) => ScalarType::F32,
            Builtin::FrontFacing | Builtin::HelperInvocation => ScalarType::Bool,
            _ => ScalarType::I32,
        }
    }

    /// Number of components (valid component indices are `0..components()`).
    pub fn components(self) -> u8 {
        match self {
            Builtin::GlobalInvocationId(_)
            | Builtin::LocalInvocationId(_)
            | Builtin::WorkgroupId(_)
            | Builtin::NumWorkgroups(_) => 3,
            Builtin::FragCoord(_) => 4,
            Builtin::PointCoord(_) => 2,
            _ => 1,
        }
    }

    /// The component this value reads (0 for scalar builtins).
    pub fn component(self) -> u8 {
        match self {
            Builtin::GlobalInvocationId(c)
            | Builtin::LocalInvocationId(c)
            | Builtin::WorkgroupId(c)
            | Builtin::NumWorkgroups(c)
            | Builtin::FragCoord(c)
            | Builtin::PointCoord(c) => c,
            _ => 0,
        }
    }

    /// Whether a shader of `stage` may read this builtin.
    pub fn allowed_in(self, stage: Stage) -> bool {
        match self {
            Builtin::SubgroupSize | Builtin::SubgroupLocalInvocationId => true,
            Builtin::VertexIndex
            | Builtin::InstanceIndex
            | Builtin::BaseVertex
            | Builtin::BaseInstance => stage == Stage::Vertex,
            Builtin::FragCoord(_)
            | Builtin::FrontFacing
            | Builtin::HelperInvocation
            | Builtin::PointCoord(_) => stage == Stage::Fragment,
            Builtin::ViewIndex => matches!(stage, Stage::Vertex | Stage::Fragment),
            _ => stage == Stage::Compute,
        }
    }
}

/// A constant: raw bits, interpreted by the defining value's type (f32 as `to_bits`, ints
/// zero-extended to 64 bits, `Bool` as 0/1).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Const(pub u64);

#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum UnOp {
    /// Integer two's-complement negate.
    INeg,
    FNeg,
    /// Bitwise not (logical not on `Bool`).
    Not,
    /// Integer absolute value (signed).
    IAbs,
    FAbs,
    /// Population count, result same type as operand.
    BitCount,
    /// Reverse the bits.
    BitReverse,
    /// Index of least significant set bit, or all ones (-1) if zero. Result same type.
    FindLsb,
    /// Index of most significant set bit (unsigned), or -1 if zero.
    FindUMsb,
    /// Index of most significant bit differing from the sign bit, or -1 for 0 and -1.
    FindSMsb,
    Sqrt,
    /// 1 / sqrt(x)
    InverseSqrt,
    Floor,
    Ceil,
    Trunc,
    /// Round half to even.
    RoundEven,
    /// Round half away from zero.
    Round,
    /// x - floor(x)
    Fract,
    Exp2,
    Log2,
    /// e^x
    Exp,
    /// ln x
    Log,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    /// f32 → the bits of the nearest f16 (round to nearest even), in the low 16 bits of an I32.
    F32ToF16Bits,
    /// low 16 bits of an I32 as f16 → f32.
    F16BitsToF32,
    /// Is NaN / is Inf (result Bool).
    IsNan,
    IsInf,
}

#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum BinOp {
    IAdd,
    ISub,
    IMul,
    /// Division by zero gives 0 (any value is allowed by SPIR-V; we must not trap).
    UDiv,
    /// Division by zero or `MIN / -1` gives 0 / MIN; never traps.
    SDiv,
    /// Unsigned remainder, x % 0 = 0.
    UMod,
    /// Signed remainder, sign of the dividend (OpSRem).
    SRem,
    /// Signed modulo, sign of the divisor (OpSMod).
    SMod,
    /// Shifts take the shift amount modulo the bit width (no poison).
    Shl,
    LShr,
    AShr,
    And,
    Or,
    Xor,
    SMin,
    SMax,
    UMin,
    UMax,
    FAdd,
    FSub,
    FMul,
    FDiv,
    /// OpFRem: sign of the dividend (C fmod).
    FRem,
    /// OpFMod: sign of the divisor (x - y * floor(x / y)).
    FMod,
    /// GLSL min/max: if one operand is NaN the other may be returned.
    FMin,
    FMax,
    Pow,
    Atan2,
    /// Bool logical ops are `And`, `Or`, `Xor` on Bool; equality on Bool is `Xor` + `Not`.
    /// High part of the full-width unsigned / signed product.
    UMulHi,
    SMulHi,
}

#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum CmpOp {
    Eq,
    Ne,
    ULt,
    ULe,
    UGt,
    UGe,
    SLt,
    SLe,
    SGt,
    SGe,
    /// Ordered float comparisons (false if either is NaN).
    FOEq,
    FONe,
    FOLt,
    FOLe,
    FOGt,
    FOGe,
    /// Unordered float comparisons (true if either is NaN).
    FUEq,
    FUNe,
    FULt,
    FULe,
    FUGt,
    FUGe,
}

/// Conversions; the result type is the defining value's type.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ConvOp {
    /// Integer zero-extend or truncate to the result width (Bool → int gives 0/1).
    ZextOrTrunc,
    /// Integer sign-extend or truncate (Bool → int gives 0/-1 — the front end uses Select
    /// when it wants 0/1).
    SextOrTrunc,
    /// Float → signed int, saturating, NaN → 0 (out-of-range is undefined in SPIR-V; this is
    /// what we define).
    FToS,
    /// Float → unsigned int, saturating, NaN → 0.
    FToU,
    SToF,
    UToF,
    /// Reinterpret bits between same-width types (I32 ⇄ F32).
    Bitcast,
}

#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum AtomicOp {
    Add,
    Sub,
    SMin,
    SMax,
    UMin,
    UMax,
    And,
    Or,
    Xor,
    Exchange,
    /// `value` replaces memory if memory == `comparator`.
    CompareExchange,
    /// Atomic load / store (OpAtomicLoad / OpAtomicStore, the latter as a statement).
    Load,
}

/// Reduction operators for subgroup reduce / scan.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum GroupOp {
    IAdd,
    FAdd,
    IMul,
    FMul,
    SMin,
    UMin,
    FMin,
    SMax,
    UMax,
    FMax,
    And,
    Or,
    Xor,
}

#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ScanKind {
    Reduce,
    InclusiveScan,
    ExclusiveScan,
}

/// Subgroup operations over the active lanes of one subgroup (= one W-lane SIMD group).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum SubgroupOp {
    /// True in the lowest active lane only.
    Elect,
    /// Bool: true if true in all active lanes.
    All(ValueId),
    /// Bool: true if true in any active lane.
    Any(ValueId),
    /// Bool: true if the value is equal in all active lanes.
    AllEqual(ValueId),
    /// I32: bit `i` set iff lane `i` is active and the Bool operand is true there.
    /// (W ≤ 32, so the other words of SPIR-V's uvec4 ballot are 0.)
    Ballot(ValueId),
    /// Value of the operand in lane `index` (an I32 value; any lane may ask for any lane).
    /// Reading an inactive or out-of-range lane gives an unspecified value (not a fault).
    Shuffle { value: ValueId, index: ValueId },
    /// Value of the operand in the lowest active lane.
    BroadcastFirst(ValueId),
    /// Reduce / scan over active lanes in lane order (exclusive scan of lane 0 = identity).
    Scan {
        op: GroupOp,
        kind: ScanKind,
        value: ValueId,
    },
}

#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub enum Op {
    Const(Const),
    /// Any value of the type (OpUndef). The back end gives 0.
    Undef,
    Unary(UnOp, ValueId),
    Binary(BinOp, ValueId, ValueId),
    /// Fused multiply-add a * b + c.
    Fma(ValueId, ValueId, ValueId),
    /// Bool result.
    Cmp(CmpOp, ValueId, ValueId),
    /// `cond ? a : b`, cond is Bool.
    Select(ValueId, ValueId, ValueId),
    Convert(ConvOp, ValueId),
    Builtin(Builtin),
    /// Load a value of the defining type.
    Load(MemRef),
    /// Atomic read-modify-write on a 32- or 64-bit integer; returns the old value.
    /// `comparator` only for `CompareExchange`; `value` is ignored for `Load`.
    Atomic {
        op: AtomicOp,
        mem: MemRef,
        value: ValueId,
        comparator: Option<ValueId>,
    },
    GetVar(VarId),
    Subgroup(SubgroupOp),
    /// Size in bytes of the range bound to buffer slot `Module::buffers[n]` (an `I64`,
    /// 0 when unbound). Added for OpArrayLength: the front end computes the runtime-array
    /// length from it and the array's offset and stride.
    BufferLength(u32),
    /// The stage input `Module::inputs[n]` (of that slot's type). Vertex and fragment only.
    Input(u32),
    /// Bool: whether this invocation is a helper (not covered, or demoted). Fragment only
    /// (OpIsHelperInvocationEXT: the current value, so true after [`Stmt::Demote`]).
    IsHelperInvocation,
    /// Derivative of an F32 value along `axis` across the 2×2 quad of fragment lanes (lanes
    /// `4q..4q+3` = top-left, top-right, bottom-left, bottom-right). `fine`: the difference in
    /// the lane's own row (X) or column (Y); otherwise (coarse, and plain OpDPdx/OpDPdy) the
    /// top row's (X) or left column's (Y) difference for the whole quad. Fragment only.
    Derivative {
        axis: DerivAxis,
        fine: bool,
        value: ValueId,
    },
}

#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub enum Stmt {
    /// Define `id` (its type is `Module::value_types[id]`).
    Def {
        id: ValueId,
        op: Op,
    },
    /// Store `value` (of its own type) to memory.
    Store {
        mem: MemRef,
        value: ValueId,
    },
    /// Atomic store (OpAtomicStore).
    AtomicStore {
        mem: MemRef,
        value: ValueId,
    },
    /// Write a per-invocation register; value type must equal the var's type.
    SetVar {
        var: VarId,
        value: ValueId,
    },
    If {
        cond: ValueId,
        then_body: Vec<Stmt>,
        else_body: Vec<Stmt>,
    },
    /// Runs `body`, then `continuing`, forever, until a `Break(label)`. `Continue(label)` in
    /// `body` skips to `continuing`. Values defined in `body` are visible in `continuing`
    /// only if `continuing` cannot be reached by `Continue` before the definition: front ends
    /// pass such values through vars.
    Loop {
        label: LabelId,
        body: Vec<Stmt>,
        continuing: Vec<Stmt>,
    },
    /// Runs `body` once; `Break(label)` inside leaves it (lowering of OpSwitch and of
    /// selection constructs with early exits).
    Breakable {
        label: LabelId,
        body: Vec<Stmt>,
    },
    Break(LabelId),
    Continue(LabelId),
    /// Ends the invocation.
    Return,
    /// OpControlBarrier with Workgroup execution scope: all invocations of the workgroup
    /// reach it before any continues; also a workgroup-memory fence. Must be in
    /// workgroup-uniform control flow (Vulkan rule); the back end may assume so.
    Barrier,
    /// OpMemoryBarrier (or a control barrier with a narrower scope): a memory fence only.
    MemoryBarrier,
    /// Fragment only (OpKill, OpTerminateInvocation): ends the invocation; it writes no
    /// outputs and makes no further memory accesses.
    Kill,
    /// Fragment only (OpDemoteToHelperInvocation): the invocation becomes a helper and goes
    /// on (for derivatives) but writes no outputs and makes no further stores or atomics.
    Demote,
    /// An image operation (see [`ImageOp`]); defines `results` (at most 4, components 0.. of
    /// the operation's result) for the executing lanes.
    Image {
        results: Vec<ValueId>,
        op: Box<ImageOp>,
    },
}

/// One entry point, fully specialised.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct Module {
    pub version: u32,
    pub stage: Stage,
    /// Name of the SPIR-V entry point (for messages).
    pub entry_point: String,
    /// `[1, 1, 1]` for vertex and fragment stages.
    pub workgroup_size: [u32; 3],
    /// Stage inputs by location (empty for compute), read with [`Op::Input`].
    pub inputs: Vec<InputSlot>,
    /// Stage outputs (empty for compute): user locations and the output builtins.
    pub outputs: Vec<OutputSlot>,
    pub fragment: FragmentModes,
    /// Type of each value, indexed by `ValueId`.
    pub value_types: Vec<ScalarType>,
    /// Type of each var, indexed by `VarId`. Vars start at 0 (false) in every invocation.
    pub var_types: Vec<ScalarType>,
    pub buffers: Vec<BufferBinding>,
    /// Image slots (sampled, storage and input-attachment images, texel buffers), in the
    /// order of the context's `images` array.
    pub images: Vec<ImageBinding>,
    /// Separate-sampler slots, in the order of the context's `samplers` array.
    pub samplers: Vec<SamplerBinding>,
    pub push_constant_size: u32,
    pub workgroup_memory_size: u32,
    pub private_memory_size: u32,
    pub body: Vec<Stmt>,
}

/// Errors decoding an IR blob.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("IR version {found} is not the supported version {IR_VERSION}")]
    Version { found: u32 },
    #[error("malformed IR encoding: {0}")]
    Malformed(#[from] postcard::Error),
}

impl Module {
    /// Serialises the module (postcard).
    pub fn encode(&self) -> Vec<u8> {
        // Serialising plain data into a Vec cannot fail; an empty vector would be refused by
        // `decode`, so a bug here shows up as a clean error on the other side.
        postcard::to_stdvec(self).unwrap_or_default()
    }

    /// Decodes and version-checks a module. Structure is checked separately by
    /// [`crate::valid::validate`].
    pub fn decode(bytes: &[u8]) -> Result<Module, DecodeError> {
        let module: Module = postcard::from_bytes(bytes)?;
        if module.version != IR_VERSION {
            return Err(DecodeError::Version {
                found: module.version,
            });
        }
        Ok(module)
    }
}
