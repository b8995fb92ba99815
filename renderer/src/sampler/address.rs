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
/// +Y, −Y, +Z, −Z), its (sc, tc) and the major-axis magnitude |ma|. Ties follow the spec's
/// recommended rules: z wins over y and x, then y wins over x.
#[inline]
pub(crate) fn cube_face([rx, ry, rz]: [f32; 3]) -> (u32, f32, f32, f32) {
    let (ax, ay, az) = (rx.abs(), ry.abs(), rz.abs());
    if az >= ax && az >= ay {
        if rz >= 0.0 {
            (4, rx, -ry, az)
        } else {
            (5, -rx, -ry, az)
        }
    } else if ay >= ax {
        if ry >= 0.0 {
            (2, rx, rz, ay)
        } else {
            (3, rx, -rz, ay)
        }
    } else if rx >= 0.0 {
        (0, -rz, -ry, ax)
    } else {
        (1, rz, -ry, ax)
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

/// The point of face `face`'s plane at face coordinates (sc, tc) = (u, v) / n, scaled by n:
/// the face table ("Cube map face selection") read backwards, with |major axis| = n.
fn cube_face_point(face: u32, u: i64, v: i64, n: i64) -> [i64; 3] {
    match face {
        0 => [n, -v, -u],
        1 => [-n, -v, u],
        2 => [u, n, v],
        3 => [u, -n, -v],
        4 => [u, -v, n],
        _ => [-u, -v, -n],
    }
}

/// The face and (sc, tc) (scaled by n) of a point with exactly one coordinate of magnitude
/// n and the others below it: the face table read forwards.
fn cube_point_face([x, y, z]: [i64; 3], n: i64) -> (u32, i64, i64) {
    if x.abs() == n {
        if x > 0 {
            (0, -z, -y)
        } else {
            (1, z, -y)
        }
    } else if y.abs() == n {
        if y > 0 {
            (2, x, z)
        } else {
            (3, x, -z)
        }
    } else if z > 0 {
        (4, x, -y)
    } else {
        (5, -x, -y)
    }
}

/// The texel of the neighbouring face that replaces texel (i, j) of `face` when it lies one
/// texel beyond exactly one edge of its `size`×`size` face (Vulkan "Cube Map Edge
/// Handling", cube map edge texel): the texel that touches the shared edge at the same
/// place. In half-texel units scaled by the size, the texel centre lies on the face's plane
/// one half-texel past the edge; folding the plane about the edge onto the neighbour's
/// plane moves the overhanging coordinate to the edge and pulls the major axis in by the
/// same amount, which lands on the centre of the neighbour's first row or column.
///
/// `i` or `j` (not both) is −1 or `size`; the other is within the face. Returns (face, i, j).
pub(crate) fn cube_edge_texel(face: u32, i: i64, j: i64, size: i64) -> (u32, i64, i64) {
    let n = size.max(1);
    // Texel centres in units of 1/(2·size) of the face's [−1, 1] span: u = sc·n.
    let (u, v) = (2 * i + 1 - n, 2 * j + 1 - n);
    let mut p = cube_face_point(face % 6, u, v, n);
    let major = (0..3).find(|&a| p[a].abs() == n).unwrap_or(0);
    if let Some(over) = (0..3).find(|&a| a != major && p[a].abs() > n) {
        let excess = p[over].abs() - n;
        p[over] = p[over].signum() * n;
        p[major] = p[major].signum() * (n - excess);
    }
    let (f, sc, tc) = cube_point_face(p, n);
    let texel = |c: i64| ((c + n - 1) / 2).clamp(0, n - 1);
    (f, texel(sc), texel(tc))
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
        // Ties: z over y and x, y over x.
        assert_eq!(cube_coords([1.0, 1.0, 1.0]).0, 4);
        assert_eq!(cube_coords([-1.0, -1.0, 0.5]).0, 3);
        assert_eq!(cube_coords([1.0, 0.0, -1.0]).0, 5);
    }

    #[test]
    fn edge_texels_fold_onto_the_neighbouring_face() {
        // +X's left column borders +Z's right column, row for row.
        assert_eq!(cube_edge_texel(0, -1, 2, 4), (4, 3, 2));
        // +X's top row borders +Y's right column, reversed.
        assert_eq!(cube_edge_texel(0, 1, -1, 4), (2, 3, 2));
        // −Y's bottom row borders −Z's bottom row, reversed.
        assert_eq!(cube_edge_texel(3, 0, 4, 4), (5, 3, 3));
        // Crossing an edge and back gives the texel itself.
        for face in 0..6 {
            for k in 0..4 {
                for (i, j) in [(-1, k), (4, k), (k, -1), (k, 4)] {
                    let (f, a, b) = cube_edge_texel(face, i, j, 4);
                    let (ai, bj) = (i.clamp(0, 3), j.clamp(0, 3));
                    // One step from the neighbour's texel towards the face it came from.
                    let back = [(a - 1, b), (a + 1, b), (a, b - 1), (a, b + 1)]
                        .into_iter()
                        .filter(|&(x, y)| !(0..4).contains(&x) || !(0..4).contains(&y))
                        .map(|(x, y)| cube_edge_texel(f, x, y, 4))
                        .any(|t| t == (face, ai, bj));
                    assert!(back, "face {face} ({i}, {j}) -> ({f}, {a}, {b})");
                }
            }
        }
        // A 1×1 face: every neighbour's only texel.
        assert_eq!(cube_edge_texel(2, 1, 0, 1), (0, 0, 0));
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
