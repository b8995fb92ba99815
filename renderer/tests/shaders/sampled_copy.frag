#version 450
// A plain copy of one texel at coordinates affine in the pixel position (constants 0, 1: the
// scales, 2, 3: the offsets; 5 with ROTATED defined: a rotation), which the renderer samples
// itself where it can; constant 4 is unused (sampled_copy_reference.frag, the kernel-shaded
// twin, multiplies by it).
layout(constant_id = 0) const float SCALE_X = 1.0;
layout(constant_id = 1) const float SCALE_Y = 1.0;
layout(constant_id = 2) const float OFFSET_X = 0.0;
layout(constant_id = 3) const float OFFSET_Y = 0.0;

layout(constant_id = 5) const float ROTATE = 0.0;

layout(set = 0, binding = 0) uniform sampler2D tex;

layout(location = 0) out vec4 frag_color;

void main() {
    vec2 uv = gl_FragCoord.xy * vec2(SCALE_X, SCALE_Y) + vec2(OFFSET_X, OFFSET_Y);
#ifdef ROTATED
    // Each coordinate reads both axes: not separable.
    uv += vec2(gl_FragCoord.y, -gl_FragCoord.x) * ROTATE;
#endif
    frag_color = texture(tex, uv);
}
