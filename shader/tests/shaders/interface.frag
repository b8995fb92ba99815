#version 450
layout(early_fragment_tests) in;
layout(location = 0) in vec4 v_color;
layout(location = 1) flat in int v_id;
layout(location = 2, component = 1) noperspective in vec2 v_np;
layout(location = 3) centroid in float v_c;
layout(location = 0) out vec4 o_color;
layout(location = 1) out ivec2 o_ids;
layout(set = 0, binding = 1) buffer Sb { uint hits; } sb;
void main() {
    if (v_color.a < 0.5) discard;
    atomicAdd(sb.hits, 1u);
    o_color = v_color * gl_FragCoord.x + vec4(v_np, v_c, gl_FrontFacing ? 1.0 : 0.0);
    o_ids = ivec2(v_id, gl_HelperInvocation ? 1 : 0);
}
