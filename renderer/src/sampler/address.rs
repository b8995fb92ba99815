//! Texel addressing: the wrapping of integer texel coordinates per address mode, cube-map face
//! selection, and border colours (Vulkan "Texel Coordinate Wrapping", "Cube Map Face
//! Selection", "Texel Replacement").

use crate::format::ValueKind;

use super::{AddressMode, BorderColor};

/// Wraps texel coordinate `i` into `[0, size)` by `mode`; `None`: the border texel
/// (ClampToBorder outside the image). `size` ≥ 1.
#[inline]
pub(crate) fn wrap(mode: AddressMode, i: i64, size: i64) -> Option<i64> {
    let mirror = |a: i64| if a >= 0 { a } else { -(1 + a) };
    match mode {
        AddressMode::Repeat => Some(i.rem_euclid(size)),
        AddressMode::MirroredRepeat => Some((size - 1) - mirror(i.rem_euclid(2 * size) - size)),
        AddressMode::ClampToEdge => Some(i.clamp(0, size - 1)),
        AddressMode::ClampToBorder => (0..size).contains(&i).then_some(i),
        AddressMode::MirrorClampToEdge => Some(mirror(i).clamp(0, size - 1)),
    }
}

/// The border colour's components in the view's value kind (f32 or integer bits). A float
/// border on an integer view (or the reverse) gives the same 0/1 values in the view's kind.
pub(crate) fn border(color: BorderColor, kind: ValueKind) -> [u32; 4] {
    let (rgb, a) = match color {
        BorderColor::FloatTransparentBlack | BorderColor::IntTransparentBlack => (0, 0),
        BorderColor::FloatOpaqueBlack | BorderColor::IntOpaqueBlack => (0, 1),
        BorderColor::FloatOpaqueWhite | BorderColor::IntOpaqueWhite => (1, 1),
    };
    let word = |v: u32| match kind {
        ValueKind::Float => (v as f32).to_bits(),
        _ => v,
    };
    [word(rgb), word(rgb), word(rgb), word(a)]
}

/// Cube-map face selection (Vulkan table "Cube map face selection"): the face (0..6: +X, −X,
/// +Y, −Y, +Z, −Z), its (sc, tc) and the major-axis magnitude |ma|.
#[inline]
pub(crate) fn cube_face([rx, ry, rz]: [f32; 3]) -> (u32, f32, f32, f32) {
    let (ax, ay, az) = (rx.abs(), ry.abs(), rz.abs());
    if ax >= ay && ax >= az {
        if rx >= 0.0 {
            (0, -rz, -ry, ax)
        } else {
            (1, rz, -ry, ax)
        }
    } else if ay >= az {
        if ry >= 0.0 {
            (2, rx, rz, ay)
        } else {
            (3, rx, -rz, ay)
        }
    } else if rz >= 0.0 {
        (4, rx, -ry, az)
    } else {
        (5, -rx, -ry, az)
    }
}

/// The face and normalized face coordinates (s, t) of a cube direction:
/// s = ½·sc/|ma| + ½, t = ½·tc/|ma| + ½.
#[inline]
pub(crate) fn cube_coords(dir: [f32; 3]) -> (u32, f32, f32) {
    let (face, sc, tc, ma) = cube_face(dir);
    if ma == 0.0 || ma.is_nan() {
        return (face, 0.5, 0.5);
    }
    (face, 0.5 * sc / ma + 0.5, 0.5 * tc / ma + 0.5)
}

/// The derivative of the face coordinates (s, t) along a direction derivative `d` at `dir`
/// on `dir`'s face (Vulkan "Cube Map Derivatives"): ∂s = ½·(∂sc·|ma| − sc·∂ma)/ma².
pub(crate) fn cube_derivative(dir: [f32; 3], d: [f32; 3]) -> [f32; 2] {
    let (face, sc, tc, ma) = cube_face(dir);
    // The same selection applied to the derivative gives ∂sc, ∂tc, and ∂ma up to sign.
    let (dsc, dtc, dma) = match face {
        0 => (-d[2], -d[1], d[0]),
        1 => (d[2], -d[1], -d[0]),
        2 => (d[0], d[2], d[1]),
        3 => (d[0], -d[2], -d[1]),
        4 => (d[0], -d[1], d[2]),
        _ => (-d[0], -d[1], -d[2]),
    };
    if ma == 0.0 || ma.is_nan() {
        return [0.0, 0.0];
    }
    let inv = 0.5 / (ma * ma);
    [(dsc * ma - sc * dma) * inv, (dtc * ma - tc * dma) * inv]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mode_wraps_as_the_spec_table_says() {
        let cases: [(AddressMode, [i64; 8]); 5] = [
            (AddressMode::Repeat, [2, 3, 0, 1, 2, 3, 0, 1]),
            (AddressMode::MirroredRepeat, [1, 0, 0, 1, 2, 3, 3, 2]),
            (AddressMode::ClampToEdge, [0, 0, 0, 1, 2, 3, 3, 3]),
            (AddressMode::MirrorClampToEdge, [1, 0, 0, 1, 2, 3, 3, 3]),
            (AddressMode::ClampToBorder, [-9, -9, 0, 1, 2, 3, -9, -9]),
        ];
        for (mode, want) in cases {
            let got: Vec<i64> = (-2..6).map(|i| wrap(mode, i, 4).unwrap_or(-9)).collect();
            assert_eq!(got, want, "{mode:?}");
        }
        assert_eq!(wrap(AddressMode::Repeat, i64::from(i32::MIN), 3), Some(1));
    }

    #[test]
    fn cube_faces_follow_the_major_axis() {
        assert_eq!(cube_coords([1.0, 0.0, 0.0]), (0, 0.5, 0.5));
        assert_eq!(cube_coords([-1.0, 0.5, 0.0]).0, 1);
        assert_eq!(cube_coords([0.2, 1.0, -0.5]), (2, 0.6, 0.25));
        assert_eq!(cube_coords([0.0, -2.0, 1.0]), (3, 0.5, 0.25));
        assert_eq!(cube_coords([0.5, 0.0, 1.0]), (4, 0.75, 0.5));
        assert_eq!(cube_coords([0.5, 0.0, -1.0]), (5, 0.25, 0.5));
    }

    #[test]
    fn border_colours_take_the_view_kind() {
        assert_eq!(
            border(BorderColor::FloatOpaqueWhite, ValueKind::Float),
            [1.0f32.to_bits(); 4]
        );
        assert_eq!(
            border(BorderColor::IntOpaqueBlack, ValueKind::Sint),
            [0, 0, 0, 1]
        );
        assert_eq!(
            border(BorderColor::FloatTransparentBlack, ValueKind::Uint),
            [0; 4]
        );
    }
}
