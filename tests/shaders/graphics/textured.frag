#version 450
// Samples set 0 binding 0 at the interpolated (u, v) carried in the vertex colour's x and y
// (`color.vert` passes the colour through); with FROM_FRAGCOORD, at coordinates computed
// from FragCoord and the colour.
layout(location = 0) in vec4 v_uv;
layout(location = 0) out vec4 frag_color;
layout(set = 0, binding = 0) uniform sampler2D tex;
void main() {
#ifdef FROM_FRAGCOORD
    // v_uv.xy holds the corner of a 56-pixel cell (the same at every vertex): coordinates
    // from -1.25 to 2.25 across it, as the interpolated ones of the other variant.
    frag_color = texture(tex, (gl_FragCoord.xy - v_uv.xy) * (3.5 / 56.0) - 1.25);
#else
    frag_color = texture(tex, v_uv.xy);
#endif
}
