const F=440,B=[440],Z={3104:((W,T,m)=>{m.d(T,{t:()=>v});var g=m(9114),y=m(1661),d=m(7521);function c(x){return d.xf.find(_=>_.name===x)?.default??""}function v(x,_={}){return{privateKey:x("ssh-private-key"),knownHosts:x("ssh-known-hosts"),acceptNewHostKeys:(0,g.q6)("ssh-accept-new-host-keys",x("ssh-accept-new-host-keys"),c("ssh-accept-new-host-keys")==="true"),extraOptions:(0,y.K_)(x("ssh-options")),sudo:(0,g.nL)("sudo",x("sudo"),["auto","true","false"],c("sudo")),connectTimeout:(0,g.EJ)("ssh-connect-timeout",x("ssh-connect-timeout"),Number(c("ssh-connect-timeout")),{max:600}),allowUserKnownHosts:_.terminal===!0}}}),9145:((W,T,m)=>{m.d(T,{$W:()=>M,jJ:()=>N,o9:()=>C});var g=m(9114);const y=[[/^would stop the following units(?: as well)?:/,"stop"],[/^would NOT stop the following changed units(?: as well)?:/,"notStopped"],[/^would NOT restart the following changed units(?: as well)?:/,"notStopped"],[/^would reload the following units:/,"reload"],[/^would restart the following units:/,"restart"],[/^would start the following units:/,"start"],[/^stopping the following units(?: as well)?:/,"stop"],[/^NOT restarting the following changed units(?: as well)?:/,"skipped"],[/^reloading the following units:/,"reload"],[/^restarting the following units:/,"restart"],[/^starting the following units:/,"start"],[/^the following new units were started:/,"newlyStarted"],[/^warning: the following units failed:/,"failed"],[/^warning: the following user units failed:/,"failedUserUnits"]],d=/^warning: user activation for ([A-Za-z0-9._@-]{1,64}\$?) failed$/,c=[/^would activate the configuration\.\.\.$/,/^activating the configuration\.\.\.$/],v=[/^would restart systemd$/,/^restarting systemd\.\.\.$/],x="service|socket|target|timer|mount|path|slice|scope|swap|automount|device",_=new RegExp(`^[A-Za-z0-9:_.@\\\\-]+\\.(?:${x})$`);function C(w){return w.length<=256&&_.test(w)}function N(w){const f={stop:new Set,restart:new Set,reload:new Set,start:new Set,notStopped:new Set,skipped:new Set,newlyStarted:new Set,failed:new Set,failedUserUnits:new Set},L=new Set;let U=!1;const A=[],S=(0,g.aJ)(String(w??"")).split(/\r?\n|\r/);for(let t=0;t<S.length;t++){const s=S[t].trim();if(s===""||c.some(e=>e.test(s)))continue;if(v.some(e=>e.test(s))){U=!0;continue}const p=d.exec(s);if(p){L.add(p[1]);continue}const $=y.find(([e])=>e.test(s));if(!$){A.push(s);continue}const[r,h]=$;let o=s.replace(r,"");for(;o.trim().endsWith(",")&&t+1<S.length&&S[t+1].trim()!=="";)t++,o+=" "+S[t].trim();let a=!1;for(const e of o.split(",")){const i=e.trim();i!==""&&(C(i)?f[h].add(i):a=!0)}a&&A.push(s)}const k=t=>[...t].sort();return{stop:k(f.stop),restart:k(f.restart),reload:k(f.reload),start:k(f.start),notStopped:k(f.notStopped),skipped:k(f.skipped),newlyStarted:k(f.newlyStarted),failed:k(f.failed),failedUserUnits:k(f.failedUserUnits),failedUsers:k(L),restartSystemd:U,lines:A}}function M(w){const f=[];return w.failed.length&&f.push(`units failed: ${w.failed.join(", ")}`),w.failedUserUnits.length&&f.push(`user units failed: ${w.failedUserUnits.join(", ")}`),w.failedUsers.length&&f.push(`user activation failed for ${w.failedUsers.join(", ")}`),f.length?f.join("; "):"units failed: see the log"}}),6045:((W,T,m)=>{m.d(T,{G:()=>o});var g=m(4296),y=m(9978),d=m(1661);const c="/run/nix-deploy",v="/nix/var/nix/profiles/system",x=`
restore_profile() {
  p=/nix/var/nix/profiles
  cur=$(readlink "$p/system" 2>/dev/null || true)
  if [ -n "$2" ] && [ -L "$p/$2" ] && [ "$(readlink -f "$p/$2")" = "$1" ]; then
    ln -sfn "$2" "$p/system.nix-deploy-tmp" && mv -T "$p/system.nix-deploy-tmp" "$p/system" || return 1
    if [ "$3" = delete ] && [ -n "$cur" ] && [ "$cur" != "$2" ] && [ "$(readlink -f "$p/$cur")" != "$1" ]; then
      n=\${cur#system-}; n=\${n%-link}
      nix-env -p "$p/system" --delete-generations "$n" >/dev/null 2>&1 || true
    fi
  else
    nix-env -p "$p/system" --set "$1" || return 1
  fi
}
`,_=`
probe_state() {
  want_path=$1
  cur=$(readlink -f /run/current-system 2>/dev/null || true)
  [ -n "$cur" ] && [ -e "$cur" ] || cur=
  gen=$(readlink ${v} 2>/dev/null || true)
  prof=$(readlink -f ${v} 2>/dev/null || true)
  boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || true)
  sd=no; if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then sd=yes; fi
  fl=no; if command -v flock >/dev/null 2>&1; then fl=yes; fi
  want=no; if [ -n "$want_path" ] && [ -e "$want_path" ]; then want=yes; fi
  act=no; if [ -n "$cur" ] && [ -x "$cur/bin/switch-to-configuration" ]; then act=yes; fi
  wreal=; if [ "$want" = yes ]; then wreal=$(readlink -f "$want_path" 2>/dev/null || true); fi
  printf 'current=%s\\ngeneration=%s\\nprofile=%s\\nboot=%s\\nsystemd=%s\\nflock=%s\\nhas-wanted=%s\\nactivatable=%s\\nwanted-real=%s\\n' "$cur" "$gen" "$prof" "$boot" "$sd" "$fl" "$want" "$act" "$wreal"
}
`,C=_+`
probe_state "$1"
`,N=_+`
d=$1
mkdir -p "$d" && chmod 700 "$d" || exit 70
exec 9>>"$d/lock" || exit 70
if ! flock -n 9; then
  echo "nix-deploy-lock-busy $(cat "$d/lock.info" 2>/dev/null | head -c 300 | tr '\\n' ' ')"
  exit 75
fi
printf '%s\\n' "$2" > "$d/lock.info"
probe_state "$4"
echo nix-deploy-lock-acquired
timeout "$3" cat > /dev/null
rm -f "$d/lock.info"
`,M=x+`
d=$1; id=$2
armed=$(cat "$d/armed-$id" 2>/dev/null || date +%s)
while :; do
  [ -e "$d/confirm-$id" ] && exit 0
  now=$(date +%s)
  if [ -s "$d/deadline-$id" ]; then deadline=$(cat "$d/deadline-$id")
  elif [ -s "$d/switch-$id.end" ]; then deadline=$(( $(cat "$d/switch-$id.end") + $3 ))
  else deadline=$(( armed + $6 + $3 )); fi
  [ "$now" -ge "$deadline" ] && break
  sleep 1
done
exec 7>"$d/wd-$id.lock"; flock 7
[ -e "$d/confirm-$id" ] && exit 0
exec >"$d/rollback-$id.log" 2>&1
flock -u 7
echo "nix-deploy: not confirmed by $(date -u +%Y-%m-%dT%H:%M:%SZ); restoring \${4:-nothing}"
if [ -z "$4" ]; then echo 3 > "$d/rollback-$id.exit"; exit 3; fi
# Wait for a running activation to end first (it may be the one that cut the connection).
n=0; while [ -e "$d/switch-$id.log" ] && [ ! -s "$d/switch-$id.exit" ] && [ $n -lt 600 ]; do sleep 1; n=$((n+1)); done
if [ "$5" != test ]; then restore_profile "$4" "$7" delete || { echo 1 > "$d/rollback-$id.exit"; exit 1; }; fi
if [ "$5" = boot ]; then act=boot; elif [ "$5" = test ]; then act=test; else act=switch; fi
"$4/bin/switch-to-configuration" "$act"
echo $? > "$d/rollback-$id.exit"
`,w=`
d=$1; id=$2
mkdir -p "$d" && chmod 700 "$d" || exit 70
rm -f "$d/confirm-$id" "$d/deadline-$id" "$d/rollback-$id.log" "$d/rollback-$id.exit"
wd=$d/watchdog-$id.sh
(umask 077 && printf '%s
' "$7" > "$wd.tmp") && mv -f "$wd.tmp" "$wd" || exit 70
date +%s > "$d/armed-$id"
if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then
  systemd-run --unit "nix-deploy-watchdog-$id" --collect --quiet --property=Type=exec --setenv=PATH="$PATH" -- /bin/sh "$wd" "$1" "$2" "$3" "$4" "$5" "$6" "$8" || exit 71
else
  setsid /bin/sh "$wd" "$1" "$2" "$3" "$4" "$5" "$6" "$8" </dev/null >/dev/null 2>&1 &
  echo $! > "$d/watchdog-$id.pid"
fi
echo armed
`,f=x+`
d=$1; id=$2; top=$3; act=$4; run=\${8:-$3}; ib=\${9:-}
[ -x "$run/bin/switch-to-configuration" ] || { echo "nix-deploy: $run has no bin/switch-to-configuration" >&2; exit 94; }
mkdir -p "$d" && chmod 700 "$d" || exit 70
rm -f "$d/switch-$id.exit" "$d/switch-$id.end"
: > "$d/switch-$id.log"
if [ "$5" = set ]; then
  nix-env -p ${v} --set "$top" || { echo "nix-deploy: could not set the system profile" >&2; exit 90; }
elif [ "$5" = restore ] || [ "$5" = restore-delete ]; then
  restore_profile "$top" "$7" "\${5#restore-}" || { echo "nix-deploy: could not restore the system profile" >&2; exit 90; }
fi
echo "nix-deploy-profile $(readlink ${v} 2>/dev/null)"
# The detached job, as a file (not inside the unit: see the top of this file).
job=$d/switch-$id.sh
(umask 077 && printf '%s
' '"$1/bin/switch-to-configuration" "$2" >"$3" 2>&1; rc=$?; date +%s >"$4.end"; echo $rc >"$4.exit"' > "$job.tmp") && mv -f "$job.tmp" "$job" || exit 70
if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then
  systemd-run --unit "nix-deploy-switch-$id" --collect --quiet --property=Type=exec --setenv=PATH="$PATH" --setenv=LOCALE_ARCHIVE="\${LOCALE_ARCHIVE:-}" --setenv=NIXOS_INSTALL_BOOTLOADER="$ib" -- /bin/sh "$job" "$run" "$act" "$d/switch-$id.log" "$d/switch-$id" || exit 71
else
  NIXOS_INSTALL_BOOTLOADER="$ib" setsid /bin/sh "$job" "$run" "$act" "$d/switch-$id.log" "$d/switch-$id" </dev/null >/dev/null 2>&1 &
fi
echo nix-deploy-activation-started
`+L();function L(){return`
n=0; limit=$(( $6 * 5 ))
while [ ! -s "$d/switch-$id.exit" ]; do
  sleep 0.2; n=$((n+1))
  if [ $n -ge $limit ]; then echo "nix-deploy: activation still running after $6 s" >&2; exit 91; fi
done
cat "$d/switch-$id.log" >&2
exit "$(cat "$d/switch-$id.exit")"
`}const U=`
if [ -x "$1/specialisation/$2/bin/switch-to-configuration" ]; then echo found; exit 0; fi
echo missing
for s in "$1"/specialisation/*; do [ -e "$s" ] && printf 'has %s\\n' "\${s##*/}"; done
exit 0
`,A=`
d=$1; id=$2
[ -e "$d/switch-$id.log" ] || { echo "nix-deploy: no activation $id on this host" >&2; exit 93; }
`+L(),S=`
d=$1; id=$2; n=0
while read -r beat; do
  [ -e "$d/rollback-$id.log" ] && { echo nix-deploy-fired; exit 92; }
  [ -e "$d/confirm-$id" ] && exit 0
  now=$(date +%s)
  echo $(( now + $3 )) > "$d/deadline-$id.tmp" && mv -f "$d/deadline-$id.tmp" "$d/deadline-$id"
  n=$((n+1)); echo "$n $now" > "$d/beats-$id"
  echo "nix-deploy-beat $beat"
done
`,k=`
d=$1; id=$2
exec 7>"$d/wd-$id.lock"; flock 7
if [ -e "$d/rollback-$id.log" ]; then echo fired; exit 92; fi
touch "$d/confirm-$id"
flock -u 7
if [ -s "$d/watchdog-$id.pid" ]; then kill "$(cat "$d/watchdog-$id.pid")" 2>/dev/null || true; fi
if [ -d /run/systemd/system ]; then systemctl stop "nix-deploy-watchdog-$id.service" >/dev/null 2>&1 || true; fi
rm -f "$d/watchdog-$id.pid" "$d/watchdog-$id.sh" "$d/armed-$id" "$d/deadline-$id" "$d/wd-$id.lock"
echo confirmed
`,t=`
d=$1; id=$2
exec 7>"$d/wd-$id.lock"; flock 7
if [ -e "$d/rollback-$id.log" ]; then
  flock -u 7
  n=0; while [ ! -s "$d/rollback-$id.exit" ] && [ $n -lt 6000 ]; do sleep 0.1; n=$((n+1)); done
  echo "fired $(cat "$d/rollback-$id.exit" 2>/dev/null || echo running)"
  exit 0
fi
touch "$d/confirm-$id"
flock -u 7
if [ -s "$d/watchdog-$id.pid" ]; then kill "$(cat "$d/watchdog-$id.pid")" 2>/dev/null || true; fi
if [ -d /run/systemd/system ]; then systemctl stop "nix-deploy-watchdog-$id.service" >/dev/null 2>&1 || true; fi
echo disarmed
`,s=`
d=$1; id=$2
if [ -e "$d/rollback-$id.log" ]; then
  echo "fired=$(cat "$d/rollback-$id.exit" 2>/dev/null || echo running)"
  sed 's/^/log=/' "$d/rollback-$id.log" | tail -n 20
else
  echo fired=no
fi
`,p=`
cd /nix/var/nix/profiles 2>/dev/null || exit 0
for l in system-*-link; do
  [ -L "$l" ] || continue
  n=\${l#system-}; n=\${n%-link}
  printf '%s %s\\n' "$n" "$(readlink -f "$l")"
done
`,$=`
setsid /bin/sh -c 'sleep 1; if [ -d /run/systemd/system ]; then systemctl reboot; else reboot; fi' </dev/null >/dev/null 2>&1 &
echo rebooting
`,r=6e4;function h(a){const e=/system-(\d+)-link$/.exec(a.trim());return e?Number(e[1]):null}class o{session;remote;logger;constructor(e,i,n){this.session=e,this.remote=i,this.logger=n}get host(){return this.remote.host}script(e,i,n,l,u=r,b=!0){return(0,d.mW)(this.session,this.remote,e,i,{timeoutMs:u,phase:n,what:l,logger:this.logger,check:b})}async connect(e,i){const n=(this.session.settings.connectTimeout+30)*1e3,l=await this.session.connect(this.remote,{timeoutMs:n,logger:this.logger});if(l)throw(0,d.vU)(this.remote,l,{phase:e,what:i,timeoutMs:n})}async probe(e,i="probe"){const n=await this.script(C,[e],i,"reading the current system");return this.parseProbe(n.stdout.split(`
`),i)}parseProbe(e,i){const n=new Map;for(const l of e){const u=l.indexOf("=");u>0&&n.set(l.slice(0,u),l.slice(u+1).trim())}if(!n.has("current"))throw(0,g.FT)({host:this.host,phase:i,kind:"host-state"},"the host's answer could not be read (is its login shell POSIX?)");return{current:n.get("current")||null,generation:h(n.get("generation")??""),generationLink:/^system-\d+-link$/.test(n.get("generation")??"")?n.get("generation"):null,profile:n.get("profile")||null,bootId:n.get("boot")??"",systemd:n.get("systemd")==="yes",flock:n.get("flock")==="yes",hasWanted:n.get("has-wanted")==="yes",activatable:n.get("activatable")==="yes",wantedReal:n.get("wanted-real")||null}}async lock(e,i,n=""){const u=[...this.session.needsSudo(this.remote)?["sudo","-n","--"]:[],"sh","-c",N,"nix-deploy",c,e,String(i),n],b=(0,y.kp)(this.session.sshArgv(this.remote,u.map(y.ZL).join(" ")),{timeoutMs:(i+60)*1e3,logger:this.logger}),I=await b.waitForLine(P=>P.startsWith("nix-deploy-lock-"),6e4);if(I==="nix-deploy-lock-acquired")return{state:this.parseProbe(b.lines,"lock"),release:async()=>{b.closeInput(),await Promise.race([b.done,new Promise(H=>setTimeout(H,5e3,null))])===null&&b.kill()}};b.kill();const E=await b.done,R={host:this.host,phase:"lock"};if(I?.startsWith("nix-deploy-lock-busy")){const P=I.slice(20).trim();throw(0,g.FT)({...R,kind:"busy"},`another deploy is running on this host${P?` (${P})`:""}; try again when it has finished`)}if(E.exitCode===d.M2)throw(0,g.FT)({...R,kind:"connection"},`could not connect: ${(0,d.eG)(E.stderr)}`);const O=E.stderr.trim().split(`
`).pop()??"";throw(0,g.FT)({...R,kind:"command",detail:E.stderr},`could not take the deploy lock${E.exitCode===127?" (flock is missing on the host)":O?`: ${O}`:""}`)}async armWatchdog(e,i,n,l,u,b){const I=[c,e,String(i),n??"",u,String(b),M,l??""];await this.script(w,I,"arm","arming the rollback watchdog")}async activate(e,i,n,l,u,b,I="",E={}){const R=[c,e,i,n,l,String(u),I,E.path??"",E.installBootloader?"1":""],O=await(0,d.mW)(this.session,this.remote,f,R,{timeoutMs:(u+30)*1e3,phase:"activate",what:"activating",logger:this.logger,check:!1,onStderrLine:b}),P=O.stdout.split(`
`).find(j=>j.startsWith("nix-deploy-profile ")),H=O.stdout.includes("nix-deploy-activation-started"),D=O.exitCode===d.M2||O.timedOut||H&&O.exitCode===null;return{exitCode:D?null:O.exitCode,output:O.stderr,connectionLost:D,profileLink:P?P.slice(19).trim():null}}async specialisation(e,i){const l=(await this.script(U,[e,i],"activate","looking for the specialisation")).stdout.split(`
`);return{found:l.includes("found"),names:l.filter(u=>u.startsWith("has ")).map(u=>u.slice(4).trim())}}async waitActivation(e,i){const n=await(0,d.mW)(this.session,this.remote,A,[c,e,"","","",String(i)],{timeoutMs:(i+30)*1e3,phase:"activate",what:"waiting for the activation",logger:this.logger,check:!1}),l=n.exitCode===d.M2||n.timedOut;return{exitCode:l?null:n.exitCode,output:n.stderr,connectionLost:l}}heartbeatChannel(e,i,n){const u=[...this.session.needsSudo(this.remote)?["sudo","-n","--"]:[],"sh","-c",S,"nix-deploy",c,e,String(i)];return(0,y.kp)(this.session.sshArgv(this.remote,u.map(y.ZL).join(" ")),{timeoutMs:n*1e3,logger:this.logger})}freshLogin(e){return(0,d.mW)(this.session,this.remote,"true",[],{timeoutMs:r,phase:e,what:"a new SSH connection to the host",privileged:!1,check:!1,fresh:!0,logger:this.logger})}async confirm(e){const i=await this.script(k,[c,e],"confirm","confirming the deployment",r,!1);if(i.exitCode===0)return"confirmed";if(i.exitCode===92)return"fired";throw(0,g.FT)({host:this.host,phase:"confirm",kind:i.exitCode===d.M2?"connection":"command"},i.exitCode===d.M2?`confirming failed: ${(0,d.eG)(i.stderr)}`:`confirming failed with exit code ${i.exitCode}`)}async disarm(e){const n=(await this.script(t,[c,e],"rollback","disarming the watchdog",10*r)).stdout.trim().split(`
`).pop()??"";return n.startsWith("fired")?{fired:!0,exit:n.slice(6).trim()}:{fired:!1,exit:""}}async watchdogState(e){const n=(await this.script(s,[c,e],"rollback","reading the watchdog",r)).stdout.split(`
`),l=(n.find(u=>u.startsWith("fired="))??"fired=no").slice(6);return{fired:l!=="no",exit:l==="no"?"":l,log:n.filter(u=>u.startsWith("log=")).map(u=>u.slice(4))}}async generations(e="resolve"){return(await this.script(p,[],e,"listing the system generations")).stdout.split(`
`).map(n=>/^(\d+) (\/\S+)$/.exec(n.trim())).filter(n=>n!==null).map(n=>({generation:Number(n[1]),storePath:n[2]})).sort((n,l)=>n.generation-l.generation)}async reboot(){await this.script($,[],"reboot","rebooting the host")}async waitForBoot(e,i){const n=Date.now()+i*1e3;for(;Date.now()<n;){await new Promise(l=>setTimeout(l,1e3));try{const l=await this.probe("","reboot");if(l.bootId&&l.bootId!==e)return l}catch{}}return null}}}),2426:((W,T,m)=>{m.d(T,{Fm:()=>C,UD:()=>k,zw:()=>x});var g=m(4296),y=m(6224),d=m(4294);const c=`cs: builtins.mapAttrs (name: c:
  let
    try = v: let r = builtins.tryEval v; in if r.success then r.value else null;
    cfg = c.config or {};
    dep = try (cfg.deployment or null);
    str = v: if builtins.isString v then v else null;
  in {
    hostName = str (try (cfg.networking.hostName or null));
    fqdn = str (try (cfg.networking.fqdn or null));
    system = str (try (cfg.nixpkgs.hostPlatform.system or cfg.nixpkgs.system or c.pkgs.stdenv.hostPlatform.system or null));
    targetHost = if dep == null then null else str (try (dep.targetHost or null));
    targetUser = if dep == null then null else str (try (dep.targetUser or null));
    targetPort = if dep == null then null else (let p = try (dep.targetPort or null); in if builtins.isInt p then p else null);
    tags = if dep == null then [] else (let t = try (dep.tags or []); in if builtins.isList t then builtins.filter builtins.isString t else []);
  }) cs`,v=`d:
  let
    str = v: if builtins.isString v then v else null;
    opts = v: if builtins.isList v then builtins.filter builtins.isString v else [];
  in {
    sshUser = str (d.sshUser or null);
    sshOpts = opts (d.sshOpts or []);
    nodes = builtins.mapAttrs (n: v: {
      hostname = str (v.hostname or null);
      sshUser = str (v.sshUser or null);
      user = str (v.user or null);
      sshOpts = opts (v.sshOpts or []);
    }) (d.nodes or {});
  }`;async function x(t,s={}){const p=await(0,y.g1)(`${t}#nixosConfigurations`,{apply:c,logger:s.logger,cwd:s.cwd,phase:"evaluate",what:`evaluating the hosts of '${t}'`});if(p===void 0)throw new g.lZ(`The flake '${t}' has no nixosConfigurations output, so it has no hosts.`,{phase:"evaluate",input:"flake"});const $=await(0,y.g1)(`${t}#deploy`,{apply:v,logger:s.logger,cwd:s.cwd,phase:"evaluate",what:`evaluating deploy.nodes of '${t}'`});return Object.keys(p).sort().map(r=>_(r,p[r],$))}function _(t,s,p){(0,d.Eo)(t,"A nixosConfigurations attribute name");const $=Array.isArray(s.tags)?s.tags:[];for(const r of $)if(!/^[A-Za-z0-9._-]{1,64}$/.test(r))throw new g.lZ(`Host ${t} has an invalid tag in deployment.tags (letters, digits, '.', '_' and '-' only).`,{host:t,phase:"evaluate"});try{return M(t,s.system),{name:t,system:s.system,hostName:s.hostName,fqdn:s.fqdn,tags:$,...N(t,s,p)}}catch(r){if(!(r instanceof g.lZ))throw r;return{name:t,system:s.system,hostName:s.hostName,fqdn:s.fqdn,tags:$,target:null,targetError:r,targetSource:"",sshOptions:[]}}}function C(t){if(t.target)return t.target;throw t.targetError??new g.lZ(`Host ${t.name} has no SSH target.`,{host:t.name})}function N(t,s,p){const $=p?.nodes?.[t];let r,h,o=[];if($?.hostname){h=`Host ${t}'s deploy.nodes.${t}.hostname`;const a=$.sshUser??p?.sshUser??null;r=(0,d.hu)(a?`${a}@${w($.hostname)}`:w($.hostname),h);const e=[...f(p?.sshOpts),...f($.sshOpts)];o=U(e,`deploy.nodes.${t}.sshOpts`,t);const i=o.indexOf("-p");i>=0&&(r={...r,port:Number(o[i+1])},o=[...o.slice(0,i),...o.slice(i+2)])}else if(s.targetHost){h=`Host ${t}'s config.deployment.targetHost`;let a=w(s.targetHost);s.targetUser&&(a=`${s.targetUser}@${a}`),s.targetPort&&(a=`${a}:${s.targetPort}`),r=(0,d.hu)(a,h)}else s.fqdn?(h=`Host ${t}'s config.networking.fqdn`,r=(0,d.hu)(s.fqdn,h)):s.hostName?(h=`Host ${t}'s config.networking.hostName`,r=(0,d.hu)(s.hostName,h)):(h=`Host ${t}'s attribute name`,r=(0,d.hu)(t,h));return{target:r,targetSource:h,sshOptions:o}}function M(t,s){if(!(s===null||/^[A-Za-z0-9_]{1,32}(?:-[A-Za-z0-9_]{1,32}){1,3}$/.test(s)))throw new g.lZ(`Host ${t}'s nixpkgs.hostPlatform.system is ${S(s)}, which is not a Nix system name such as x86_64-linux.`,{host:t,phase:"evaluate"})}function w(t){return t.includes(":")&&!t.startsWith("[")?`[${t}]`:t}function f(t){return Array.isArray(t)?t.filter(s=>typeof s=="string"):[]}const L=new Set(["port","connecttimeout","connectionattempts","serveraliveinterval","serveralivecountmax","compression","ipqos","addressfamily","tcpkeepalive"]);function U(t,s,p){const $=[],r=(h,o)=>{throw new g.lZ(`Host ${p}: ${s} contains the ssh option '${S(h)}', which is not allowed from flake data (${o}); pass it through the workflow's 'ssh-options' input instead.`,{host:p,phase:"evaluate"})};for(let h=0;h<t.length;h++){const o=t[h];if(o==="-4"||o==="-6"||o==="-C")$.push(o);else if(o==="-p"||o.startsWith("-p")){const a=o==="-p"?t[++h]:o.slice(2);(!a||!A(a))&&r(`${o} ${a??""}`.trim(),"the port must be a number from 1 to 65535"),$.push("-p",a)}else if(o==="-J"||o.startsWith("-J"))r(o,"a jump host would be reached without the pinned key and known hosts");else if(o==="-o"||o.startsWith("-o")){const a=o==="-o"?t[++h]:o.slice(2),e=/^([A-Za-z]+)\s*[= ]\s*([A-Za-z0-9@._:[\]-]{1,255})$/.exec(a??"");e||r(a??o,"expected -o Key=Value"),L.has(e[1].toLowerCase())||r(`-o${a}`,`'${e[1]}' can run commands, reach other hosts or weaken host key checking`),e[2].startsWith("-")&&r(`-o${a}`,"a value may not start with -"),e[1].toLowerCase()==="port"&&!A(e[2])&&r(`-o${a}`,"the port must be a number from 1 to 65535"),$.push("-o",`${e[1]}=${e[2]}`)}else r(o,"only -p, -4, -6, -C and a few -o options are accepted")}return $}function A(t){return/^[1-9][0-9]{0,4}$/.test(t)&&Number(t)<=65535}function S(t){const s=JSON.stringify(t).slice(1,-1);return s.length>60?`${s.slice(0,57)}...`:s}async function k(t,s,p={}){for(const o of s)(0,d.Eo)(o,`host '${o}'`);const r=`cs: builtins.listToAttrs (map (n: { name = n; value = cs.\${n}.config.system.build.toplevel.drvPath; }) (builtins.filter (n: cs ? \${n}) ${`[ ${s.map(y.z7).join(" ")} ]`}))`;return await(0,y.g1)(`${t}#nixosConfigurations`,{apply:r,logger:p.logger,cwd:p.cwd,phase:p.phase??"evaluate",what:`evaluating the toplevel derivations of ${s.length} host(s) in '${t}'`})??{}}}),6228:((W,T,m)=>{m.d(T,{L:()=>y,a:()=>g});function g(d){if(d<1e3)return`${d} ms`;const c=d/1e3;if(c<60)return`${c.toFixed(1)} s`;const v=Math.floor(c/60);return`${v} min ${Math.round(c-v*60)} s`}function y(d,c,v=`${c}s`){return`${d} ${d===1?c:v}`}})};export{F as id,B as ids,Z as modules};
