#version 450
// bench_textured.frag's colour times a specialization constant (1.0 in the tests): the same
// texel, but not a plain copy, so the renderer shades it with the compiled kernel and the
// image helper. Constants 0, 1: the coordinate scales; 2, 3: offsets; 4: the factor; 5 with
// ROTATED defined: a rotation.
layout(constant_id = 0) const float SCALE_X = 1.0;
layout(constant_id = 1) const float SCALE_Y = 1.0;
layout(constant_id = 2) const float OFFSET_X = 0.0;
layout(constant_id = 3) const float OFFSET_Y = 0.0;
layout(constant_id = 4) const float FACTOR = 1.0;

layout(constant_id = 5) const float ROTATE = 0.0;

layout(set = 0, binding = 0) uniform sampler2D tex;

layout(location = 0) out vec4 frag_color;

void main() {
    vec2 uv = gl_FragCoord.xy * vec2(SCALE_X, SCALE_Y) + vec2(OFFSET_X, OFFSET_Y);
#ifdef ROTATED
    uv += vec2(gl_FragCoord.y, -gl_FragCoord.x) * ROTATE;
#endif
    frag_color = texture(tex, uv) * FACTOR;
}
