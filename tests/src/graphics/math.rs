//! Column-major 4×4 matrices for the scenes (Vulkan clip space: y down, depth 0..1).

/// A column-major 4×4 matrix, as GLSL `mat4` lays it out in a push-constant block.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mat4(pub [[f32; 4]; 4]);

impl Mat4 {
    pub const IDENTITY: Mat4 = Mat4([
        [1.0, 0.0, 0.0, 0.0],
        [0.0, 1.0, 0.0, 0.0],
        [0.0, 0.0, 1.0, 0.0],
        [0.0, 0.0, 0.0, 1.0],
    ]);

    pub fn mul(&self, o: &Mat4) -> Mat4 {
        let mut r = [[0.0f32; 4]; 4];
        for (c, col) in r.iter_mut().enumerate() {
            for (row, v) in col.iter_mut().enumerate() {
                *v = (0..4).map(|k| self.0[k][row] * o.0[c][k]).sum();
            }
        }
        Mat4(r)
    }

    pub fn transform(&self, v: [f32; 4]) -> [f32; 4] {
        let mut r = [0.0f32; 4];
        for (row, out) in r.iter_mut().enumerate() {
            *out = (0..4).map(|k| self.0[k][row] * v[k]).sum();
        }
        r
    }

    pub fn translate(x: f32, y: f32, z: f32) -> Mat4 {
        let mut m = Mat4::IDENTITY;
        m.0[3] = [x, y, z, 1.0];
        m
    }

    pub fn scale(s: f32) -> Mat4 {
        let mut m = Mat4::IDENTITY;
        for i in 0..3 {
            m.0[i][i] = s;
        }
        m
    }

    pub fn rotate_x(a: f32) -> Mat4 {
        let (s, c) = a.sin_cos();
        Mat4([
            [1.0, 0.0, 0.0, 0.0],
            [0.0, c, s, 0.0],
            [0.0, -s, c, 0.0],
            [0.0, 0.0, 0.0, 1.0],
        ])
    }

    pub fn rotate_y(a: f32) -> Mat4 {
        let (s, c) = a.sin_cos();
        Mat4([
            [c, 0.0, -s, 0.0],
            [0.0, 1.0, 0.0, 0.0],
            [s, 0.0, c, 0.0],
            [0.0, 0.0, 0.0, 1.0],
        ])
    }

    /// Right-handed perspective looking down −z onto Vulkan's clip space (y down, z in 0..1).
    pub fn perspective(fov_y: f32, aspect: f32, near: f32, far: f32) -> Mat4 {
        let f = 1.0 / (fov_y / 2.0).tan();
        Mat4([
            [f / aspect, 0.0, 0.0, 0.0],
            [0.0, -f, 0.0, 0.0],
            [0.0, 0.0, far / (near - far), -1.0],
            [0.0, 0.0, near * far / (near - far), 0.0],
        ])
    }

    /// The 64 bytes of the matrix, column by column.
    pub fn bytes(&self) -> Vec<u8> {
        self.0
            .iter()
            .flatten()
            .flat_map(|f| f.to_le_bytes())
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn perspective_maps_near_to_zero_and_far_to_one() {
        let p = Mat4::perspective(1.0, 1.0, 0.5, 10.0);
        let near = p.transform([0.0, 0.0, -0.5, 1.0]);
        let far = p.transform([0.0, 0.0, -10.0, 1.0]);
        assert!((near[2] / near[3]).abs() < 1e-6);
        assert!((far[2] / far[3] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn multiplication_applies_the_right_operand_first() {
        let m = Mat4::translate(1.0, 0.0, 0.0).mul(&Mat4::scale(2.0));
        assert_eq!(m.transform([1.0, 1.0, 1.0, 1.0]), [3.0, 2.0, 2.0, 1.0]);
    }
}
