#version 450
// One directional light plus ambient (Lambert) on the vertex colour times a mip-mapped texture
// (set 0, binding 0), sampled trilinearly.
layout(location = 0) in vec3 v_normal;
layout(location = 1) in vec3 v_color;
layout(location = 2) in vec2 v_uv;
layout(location = 0) out vec4 out_color;
layout(set = 0, binding = 0) uniform sampler2D tex;
void main() {
    vec3 light = normalize(vec3(0.5, 0.8, 0.6));
    float diffuse = max(dot(normalize(v_normal), light), 0.0);
    vec3 albedo = v_color * texture(tex, v_uv).rgb;
    out_color = vec4(albedo * (0.25 + 0.75 * diffuse), 1.0);
}
